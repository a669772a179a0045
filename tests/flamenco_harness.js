// Runs a Flamenco job type's compileJob with a recording `author` API, as the Flamenco Manager would,
// and prints the tasks it built as JSON: node flamenco_harness.js JOB_TYPE.js '{"settings": ...}'
const fs = require("fs");
const vm = require("vm");

const [, , jobTypePath, settingsJson] = process.argv;
const author = {
    Task(name, type) {
        return {
            name, type, commands: [], dependencies: [],
            addCommand(command) { this.commands.push(command); },
            addDependency(task) { this.dependencies.push(task.name); },
        };
    },
    Command(type, parameters) { return { type, parameters }; },
};
const job = { settings: JSON.parse(settingsJson), tasks: [], addTask(task) { this.tasks.push(task); } };
const sandbox = { author, print: console.log };
vm.createContext(sandbox);
vm.runInContext(fs.readFileSync(jobTypePath, "utf8") + "\nthis.JOB_TYPE = JOB_TYPE; this.compileJob = compileJob;", sandbox);
try {
    sandbox.compileJob(job);
} catch (error) {
    console.error(String(error));
    process.exit(1);
}
const tasks = job.tasks.map(({ name, type, commands, dependencies }) => ({ name, type, commands, dependencies }));
console.log(JSON.stringify({ settings: sandbox.JOB_TYPE.settings.map((s) => s.key), tasks }));
