export { type BakeFile, type BakeTarget, serializeBakeFile } from "./bake.ts";
export { type Compiled, type CompileOptions, type CompileResult, compile } from "./compile.ts";
export { type Facts, type RenderedImage, renderImages } from "./render.ts";
export { type Requested, resolveStrategy } from "./strategy.ts";
