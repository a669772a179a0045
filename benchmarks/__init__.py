"""Speed and quality measurements of Lipkit's engines; each writes markdown + PNG under out/benchmarks/."""
