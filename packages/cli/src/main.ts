import { run } from "./cli.ts";

// The bundle's entry (dist/multiarch.cjs, started by bin/multiarch.js): `main` is the command line,
// `run` is what the build's warm-up calls to fill V8's code cache.
export { run };

export function main(): Promise<void> {
  // Ctrl-C / SIGTERM abort the run: children are stopped through execa's cancelSignal, the report says
  // what was done, and the publish stage never starts half-way.
  // A second signal exits at once. The listeners stay registered: execa's clean-up hooks re-raise a
  // signal that no other listener handles, which would kill us before the report is written.
  const controller = new AbortController();
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      if (controller.signal.aborted) process.exit(130);
      process.stderr.write(`\nmultiarch: ${sig}, stopping...\n`);
      controller.abort();
    });
  }
  return run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env }, controller.signal).then(
    (code) => {
      process.exitCode = code;
    },
  );
}
