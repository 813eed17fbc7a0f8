// What other packages use; everything else stays inside the package.
export { type CompileResult, compile } from "./compile.ts";
export { type Facts, renderImages } from "./render.ts";
export { type Requested, resolveStrategy } from "./strategy.ts";
