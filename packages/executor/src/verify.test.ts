import { describe, expect, test } from "vitest";
import { checkInspect } from "./verify.ts";

const inspect = (
  platforms: { os: string; architecture: string; variant?: string }[],
  configs: Record<string, { architecture: string; os: string; variant?: string }> = {},
) =>
  JSON.stringify({
    name: "r/x:t",
    manifest: {
      digest: "sha256:abc",
      manifests: [
        ...platforms.map((platform, i) => ({ digest: `sha256:${i}`, platform })),
        { digest: "sha256:att", platform: { os: "unknown", architecture: "unknown" }, annotations: { "vnd.docker.reference.type": "attestation-manifest" } },
      ],
    },
    image: configs,
  });

describe("checkInspect", () => {
  test("exact platform set passes; attestations are not platforms", () => {
    const r = checkInspect(
      inspect([
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "arm", variant: "v7" },
      ]),
      ["linux/amd64", "linux/arm/v7"],
    );
    expect(r).toMatchObject({ ok: true, digest: "sha256:abc", missing: [], extra: [] });
  });
  test("missing and extra platforms fail", () => {
    const r = checkInspect(
      inspect([
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "s390x" },
      ]),
      ["linux/amd64", "linux/arm64"],
    );
    expect(r).toMatchObject({ ok: false, missing: ["linux/arm64"], extra: ["linux/s390x"] });
  });
  test("an image config naming another architecture fails", () => {
    const r = checkInspect(inspect([{ os: "linux", architecture: "arm64" }], { "linux/arm64": { os: "linux", architecture: "amd64" } }), ["linux/arm64"]);
    expect(r).toMatchObject({ ok: false, mismatched: ["linux/arm64"] });
  });
});
