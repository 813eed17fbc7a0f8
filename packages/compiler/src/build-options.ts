// The options of an image's build that buildx takes as written, once for both strategies: bake reads
// each as the target attribute of its name (bake.ts), `docker build` as the flag --NAME (the manifest
// strategy), and each is an input of the image (input-hashes.ts). A plain build field of images: is a
// line here, in bake's name.
import type { Image } from "@multiarch/spec";

export const buildOptions = (img: Image) => ({
  ...(img.target ? { target: img.target } : {}),
});
export type BuildOptions = ReturnType<typeof buildOptions>;

/** As `docker build` flags, in the options' order: --NAME VALUE, or --NAME alone for true. */
export const buildFlags = (options: BuildOptions): string[] =>
  Object.entries(options).flatMap(([name, value]: [string, unknown]) =>
    value === true ? [`--${name}`] : typeof value === "string" ? [`--${name}`, value] : [],
  );
