// contexts: named build contexts; image: links to other images of the spec (the dependency graph),
// URLs, and folders inside the repository. bake's own target: links are refused with the right spelling.
import { isAbsolute } from "node:path";
import { checkTag, didYouMean, isContentDigest, OCI_LAYOUT, ociLayoutFolder, parseImageRef } from "@multiarch/plan";
import type { NamedContext } from "../model.ts";
import type { ImageInput } from "../schema.ts";
import type { Path } from "../source-map.ts";
import { absolutePath, inside, type RuleContext, report, resolveInSpec, specRelative } from "./context.ts";

const CONTEXT_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_./-]*(:[A-Za-z0-9_.-]+)?$/;

export function contextRules(ctx: RuleContext, name: string, img: ImageInput, ip: Path): { contexts: NamedContext[]; dependsOn: string[] } {
  const contexts: NamedContext[] = [];
  const dependsOn: string[] = [];
  for (const [cname, value] of Object.entries(img.contexts ?? {})) {
    const cp = [...ip, "contexts", cname];
    const at = ctx.map.valueAt(cp);
    if (!CONTEXT_NAME_RE.test(cname)) {
      const hint = cname.includes("{{") ? "context names are not templates; write the name itself" : "use letters, digits and . _ - /";
      report(ctx, "invalid-value", cp, `context name "${cname}" is not a name a Dockerfile can use in FROM or --from`, hint, true);
      continue;
    }
    if (value.startsWith("image:")) {
      // that it names an image is checked once every image is known (imageLinks): a matrix image's by their names
      const target = value.slice("image:".length);
      if (target === name) {
        report(ctx, "dependency-cycle", cp, `image ${name} cannot build FROM itself`);
      } else {
        contexts.push({ name: cname, kind: "image", image: target, at });
        dependsOn.push(target);
      }
    } else if (value.startsWith("target:")) {
      report(ctx, "invalid-value", cp, `context ${cname}: "target:" links are bake's own; write image:${value.slice(7)}`);
    } else if (value.startsWith(OCI_LAYOUT)) {
      // a folder too (read where bake runs, the spec's folder): inside the repository, and a layout
      const folder = ociLayoutFolder(value);
      const [nameAndTag, digest] = value.slice(OCI_LAYOUT.length).split("@");
      const tag = nameAndTag!.slice(folder.length + 1);
      const written = "write oci-layout://PATH[:TAG][@sha256:…]";
      if (folder === "") report(ctx, "invalid-value", cp, `context ${cname}: oci-layout:// names no folder`, written);
      else if (tag && !checkTag(tag).ok) report(ctx, "invalid-value", cp, `context ${cname}: "${tag}" is not a valid tag`, written);
      else if (digest !== undefined && !isContentDigest(digest)) report(ctx, "invalid-value", cp, `context ${cname}: "${digest}" is not a digest`, written);
      else {
        const real = inside(ctx, resolveInSpec(ctx, folder), "dir", cp, `context ${cname}: OCI layout`);
        if (real && !ctx.absentInputs && ctx.fs.kind(`${real}/index.json`) !== "file")
          report(
            ctx,
            "path-missing",
            cp,
            `context ${cname}: ${folder} is no OCI layout (it has no index.json)`,
            "point oci-layout:// at a folder an OCI image layout was written to",
          );
        else if (real) contexts.push({ name: cname, kind: "ref", ref: value, at });
      }
    } else if (value.startsWith("docker-image://")) {
      const ref = parseImageRef(value.slice("docker-image://".length));
      const problem = !ref.ok
        ? ref.message
        : ref.value.digest !== undefined && !isContentDigest(ref.value.digest)
          ? `"${ref.value.digest}" is not a digest`
          : undefined;
      if (problem)
        report(ctx, "invalid-value", cp, `context ${cname}: ${problem}`, "write docker-image://NAME[:TAG][@sha256:…], e.g. docker-image://alpine:3.20");
      else contexts.push({ name: cname, kind: "ref", ref: value, at });
    } else if (/^(oci-layout|docker-image):\/?[^/]/.test(value)) {
      const scheme = value.slice(0, value.indexOf(":"));
      report(
        ctx,
        "invalid-value",
        cp,
        `context ${cname}: "${value}" reads as a folder`,
        `write ${scheme}://${value.slice(scheme.length + 1).replace(/^\//, "")}`,
      );
    } else if (/^[a-z][a-z0-9+.-]*:\/\//.test(value) || value.startsWith("git@")) {
      contexts.push({ name: cname, kind: "ref", ref: value, at });
    } else if (/^[a-z]+:/i.test(value) && didYouMean(value.slice(0, value.indexOf(":")), ["image"])) {
      // imgae:base is no folder anyone meant
      report(
        ctx,
        "context-unknown-image",
        cp,
        `context ${cname}: "${value}" is neither an image: link nor a folder`,
        `did you mean image:${value.slice(value.indexOf(":") + 1)}?`,
      );
    } else if (isAbsolute(value)) {
      absolutePath(ctx, cp, { what: `context ${cname}:`, key: cname, abs: value, kind: "folder", base: ctx.dir, baseName: "the spec's folder" });
    } else {
      const abs = resolveInSpec(ctx, value);
      if (inside(ctx, abs, "dir", cp, `context ${cname}`)) contexts.push({ name: cname, kind: "local", path: specRelative(ctx, abs), at });
    }
  }
  return { contexts, dependsOn };
}
