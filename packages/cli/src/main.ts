import { runAsProcess } from "./process.ts";

await runAsProcess(process.argv.slice(2), process.cwd());
