import { INPUT_HASH_LABEL, INPUT_PARTS_LABEL, OCI_CREATED, OCI_REVISION, OCI_SOURCE } from "@multiarch/plan";
import { describe, expect, test } from "vitest";
import { decorate, reproducible } from "./image-labels.ts";
import type { RenderedImage } from "./render.ts";

const rendered = (): RenderedImage => ({ labels: { team: "web" }, args: {}, indexAnnotations: undefined }) as unknown as RenderedImage;

describe("labels added to the spec's", () => {
  test("the input hash: on the image, and on the index with bake", () => {
    const r = rendered();
    decorate(r, { hash: "h", parts: { dockerfile: "d" } } as never, true);
    expect(r.labels).toEqual({ team: "web", [INPUT_HASH_LABEL]: "h", [INPUT_PARTS_LABEL]: expect.any(String) });
    expect(r.indexAnnotations).toEqual({ [INPUT_HASH_LABEL]: "h", [INPUT_PARTS_LABEL]: expect.any(String) });
  });

  test("reproducible builds: SOURCE_DATE_EPOCH and the OCI labels, the spec's own winning", () => {
    const r = rendered();
    r.labels[OCI_SOURCE] = "mine";
    reproducible(r, { env: {}, git: { sha: "abc", shortSha: "abc", branch: "main", tag: "", time: "0", source: "https://x" } }, true);
    expect(r.args.SOURCE_DATE_EPOCH).toBe("0");
    expect(r.labels).toMatchObject({ [OCI_REVISION]: "abc", [OCI_CREATED]: "1970-01-01T00:00:00.000Z", [OCI_SOURCE]: "mine" });
    const off = rendered();
    reproducible(off, { env: {}, git: { sha: "abc", shortSha: "abc", branch: "main", tag: "" } }, false);
    expect(off.labels).toEqual({ team: "web" });
  });
});
