// The bundle's entry (dist/multiarch.cjs, started by bin/multiarch.js): `main` is the command line,
// `run` is what the build's warm-up calls to fill V8's code cache.
import { run } from "./cli.ts";
import { runAsProcess } from "./process.ts";
import type { Recorder } from "./result-cache.ts";

export { run };

/** recorder: the result cache's (dist/result-cache.cjs), which bin/multiarch.js loaded first. */
/** `cwd`: the bin's, which stands in "/" for a folder removed under the shell when the command reads none (help). */
export const main = (recorder?: Recorder, cwd: string = process.cwd()): Promise<number> => runAsProcess(process.argv.slice(2), cwd, recorder);
