// What other packages use; everything else stays inside the package.

export { type AnnotationKey, parseAnnotationKey } from "./annotation.ts";
export { type Diagnostic, diag, sortDiagnostics, splitDiagnostics } from "./diagnostics.ts";
export { type FromLine, fromLines, type ImageReference, instructionLines, imageReferences } from "./dockerfile.ts";
export { findSpec, loadSpec, SPEC_FILE_NAME } from "./load.ts";
export type { Cache, Credential, Image, KeyedTemplate, Registry, Secret, Signing, Spec, Template } from "./model.ts";
export type { SpecResult } from "./parse.ts";
export { checkTemplate, MapValue, parseSemver, type SemVer, tagHint } from "./template.ts";
