// SPDX-License-Identifier: GPL-3.0-or-later
// Lipkit Batch: a Flamenco 3 job type that lip-syncs a shot list on the farm, one task per shot.
//
// Every shot task runs the extension's headless command on its own shot, caching its result in a
// folder all workers share:
//   blender -b -y scene.blend --command lipkit batch SHOTS --shot NAME --cache CACHE --report REPORTS/NAME.json
// A last task, after all of them, runs the same command over the chosen shots with --save: every
// result comes from the shared cache, so it only writes the takes into the .blend and saves it.
// A shot that fails makes its task fail (Blender exits 1), with the reason in the task log and report.
// Install: copy this file into the `scripts` folder next to the Flamenco Manager and restart it
// (see "Batch and shot lists" in Lipkit's README).

const JOB_TYPE = {
    label: "Lipkit Batch",
    description: "Lip-sync every shot of a shot list onto its character, one task per shot",
    settings: [
        { key: "shot_list", type: "string", subtype: "file_path", required: true,
          description: "The shot list (.csv or .json) on storage every worker can read" },
        { key: "shots", type: "string", required: true,
          eval: "__import__('json').dumps([s.name for s in C.scene.lipkit.shots if s.enabled and not s.error])",
          evalInfo: { showLinkButton: true, description: "The enabled shots of the Batch panel" },
          description: "The shots to run, as a JSON list of shot names" },
        { key: "cache_dir", type: "string", subtype: "dir_path", required: true,
          description: "Result cache shared by every worker (the last task reads the shots' results from it)" },
        { key: "report_dir", type: "string", subtype: "dir_path", required: true,
          description: "Where each task writes its JSON report" },
        { key: "blendfile", type: "string", required: true, visible: "web",
          description: "The .blend to lip-sync (set by the Flamenco add-on)" },
    ],
};

function shotNames(settings) {
    const names = JSON.parse(settings.shots);
    if (!Array.isArray(names) || names.length === 0) {
        throw "Lipkit Batch: 'shots' must be a non-empty JSON list of shot names";
    }
    return names.map(String);
}

function lipkitArgs(settings, extra) {
    return ["--command", "lipkit", "batch", settings.shot_list, "--cache", settings.cache_dir].concat(extra);
}

function blenderCommand(settings, args) {
    return author.Command("blender-render", {
        exe: "{blender}",
        exeArgs: "{blenderArgs}",
        argsBefore: [],
        blendfile: settings.blendfile,
        args: args,
    });
}

function compileJob(job) {
    const settings = job.settings;
    const names = shotNames(settings);
    const shotTasks = names.map(function (name) {
        const task = author.Task("lipsync " + name, "blender");
        task.addCommand(blenderCommand(settings, lipkitArgs(settings,
            ["--shot", name, "--report", settings.report_dir + "/" + name + ".json"])));
        job.addTask(task);
        return task;
    });
    const collect = author.Task("collect and save", "blender");
    const chosen = [].concat.apply([], names.map(function (name) { return ["--shot", name]; }));
    collect.addCommand(blenderCommand(settings, lipkitArgs(settings,
        chosen.concat(["--save", "--report", settings.report_dir + "/batch-report.json"]))));
    shotTasks.forEach(function (task) { collect.addDependency(task); });
    job.addTask(collect);
}
