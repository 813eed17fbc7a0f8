// apply's incremental facts: each image's inputs hashed (files, base image digests) and what its planned
// user tags hold now, so the second compile can say up to date, reuse, or build.
import { type Facts, renderImages } from "@multiarch/compiler";
import type { Plan } from "@multiarch/plan";
import type { Spec } from "@multiarch/spec";
import { type Io, sayWait } from "../format.ts";
import { gitFacts } from "./git-facts.ts";

/**
 * Input facts of every image (files, bases) and, unless --rebuild, what the planned user tags hold now;
 * and which of an image's input files changed since they were hashed (run after each build of it).
 */
export async function incrementalFacts(
  spec: Spec,
  first: Plan,
  io: Io,
  rebuild: boolean,
  since: (phase: string, t0: number) => void,
  outDir?: string,
): Promise<{ facts: Partial<Facts>; problems: string[]; changedInputs: (image: string) => readonly string[]; unanswered: Record<string, string> }> {
  const { changedInputFiles, gatherInputs, readPublished, specCredentials } = await import("@multiarch/executor");
  const { git } = await gitFacts(spec, io);
  const { rendered } = renderImages(spec, spec.images, { git, env: io.env });
  const args = new Map(rendered.map((r) => [r.image.name, r.args]));
  const t0 = performance.now();
  const onWait = sayWait(io);
  // a dependency --image brought along too: up to date, it is built FROM by digest
  const refs = first.images.flatMap((i) => i.refs.flatMap((r) => r.tags.map((t) => `${r.name}:${t}`)));
  const insecure = spec.registries.filter((r) => r.insecure).map((r) => r.host);
  // read while the inputs are hashed: neither needs the other, and the reads are most of a
  // one-changed-image run's wait before its build; a failed hashing stops them (the run ends there)
  const stop = new AbortController();
  let readMs = 0;
  const read = rebuild
    ? undefined
    : readPublished(refs, io.env, insecure, { credentials: specCredentials(spec, io.env).byHost, onWait, signal: stop.signal }).then((r) => {
        readMs = performance.now() - t0;
        return r;
      });
  read?.catch(() => {});
  const { facts: inputs, files } = await gatherInputs(spec, spec.images, args, io.env, { ...(outDir ? { outDir } : {}), onWait }).catch((e) => {
    stop.abort();
    throw e;
  });
  since("hash inputs (files, base image digests)", t0);
  const changedInputs = (image: string) => {
    const img = spec.images.find((i) => i.name === image);
    const hashed = files.get(image);
    return img && hashed ? changedInputFiles(spec, img, hashed, outDir) : [];
  };
  if (!read) return { facts: { inputs }, problems: [], changedInputs, unanswered: {} };
  const published = await read;
  // after the hashing's row, whichever ended first: both are timed from their common start
  since("read what the tags hold (registry)", performance.now() - readMs);
  return { facts: { inputs, published: published.tags }, problems: published.problems, changedInputs, unanswered: published.unanswered };
}
