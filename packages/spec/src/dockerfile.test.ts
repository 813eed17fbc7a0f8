import { describe, expect, test } from "vitest";
import { fromLines, imageReferences, instructionLines } from "./dockerfile.ts";

describe("fromLines", () => {
  test("images, stages, named contexts and scratch told apart", () => {
    const text = "FROM golang:1.22 AS build\nRUN make\nFROM base AS runtime\nCOPY --from=build /x /x\nFROM build\nFROM scratch\n";
    expect(fromLines(text, {}, ["base"]).map((f) => [f.line, f.ref, f.kind])).toEqual([
      [1, "golang:1.22", "image"],
      [3, "base", "context"],
      [5, "build", "stage"],
      [6, "scratch", "scratch"],
    ]);
  });

  test("global ARG defaults substituted; build args win; platform flags kept", () => {
    const text = "ARG VERSION=3.19\nARG REG=docker.io/library\nFROM --platform=$BUILDPLATFORM ${REG}/alpine:${VERSION} AS tools\n";
    expect(fromLines(text)).toEqual([{ line: 3, ref: "docker.io/library/alpine:3.19", kind: "image", platform: "$BUILDPLATFORM" }]);
    expect(fromLines(text, { VERSION: "3.20" })[0]!.ref).toBe("docker.io/library/alpine:3.20");
    expect(fromLines("ARG X\nFROM img:${X:-1.0}\n")[0]!.ref).toBe("img:1.0");
  });

  test("continuations, comments and an unset ARG", () => {
    const text = "# syntax=docker/dockerfile:1\nFROM \\\n  debian:12 \\\n  AS a\nARG LATE\nFROM $NOPE\n";
    const r = fromLines(text);
    expect(r[0]).toMatchObject({ line: 2, ref: "debian:12", kind: "image" });
    expect(r[1]).toMatchObject({ ref: "", unresolved: ["NOPE"] });
  });
});

// A moved tag behind COPY --from=IMAGE left an image "up to date" with the old content: only FROM was read.
describe("imageReferences", () => {
  test("COPY --from and RUN --mount from= images; stages (by name or index), named contexts and unset variables are not", () => {
    const text = [
      "ARG TOOLS=reg.example/tools:2",
      "FROM golang:1.22 AS build",
      "RUN --mount=type=bind,from=reg.example/src:1,target=/src --mount=type=cache,target=/c make",
      "FROM alpine:3.20",
      "COPY --from=build /out /out",
      "COPY --from=0 /out /out0",
      "COPY --from=assets /a /a",
      "COPY --link --from=${TOOLS} /bin/t /bin/t",
      "COPY --from=$LATER /x /x",
      "COPY --from=reg.example/src:1 /y /y",
      "RUN --mount=from=Build,source=/out,target=/o true",
      "",
    ].join("\n");
    expect(imageReferences(text, {}, ["assets"])).toEqual([
      { line: 3, ref: "reg.example/src:1" },
      { line: 8, ref: "reg.example/tools:2" },
    ]);
    expect(imageReferences(text, { TOOLS: "reg.example/tools:3" }, ["assets"])[1]).toEqual({ line: 8, ref: "reg.example/tools:3" });
  });
});

describe("instructionLines", () => {
  const hasInstruction = (text: string, shown: string) => instructionLines(text, shown).length > 0;
  // each `shown` as BuildKit 0.13 named the step in a real build of `text`
  const text = [
    "from 127.0.0.1:5000/base/busybox:1 AS build",
    "arg V=7",
    `run echo \${V:-x} $V`,
    "RUN echo \\",
    "  two \\",
    "  lines",
    'RUN ["sh", "-c", "echo exec"]',
    "RUN false",
  ].join("\n");

  test("the step's instruction: keyword in capitals, continuations joined, variables expanded, FROM with its digest", () => {
    expect(hasInstruction(text, "RUN false")).toBe(true);
    expect(hasInstruction(text, "RUN echo 7 7")).toBe(true);
    expect(hasInstruction(text, "RUN echo   two   lines")).toBe(true);
    expect(hasInstruction(text, 'RUN ["sh", "-c", "echo exec"]')).toBe(true);
    expect(hasInstruction(text, `FROM 127.0.0.1:5000/base/busybox:1@sha256:${"0".repeat(64)}`)).toBe(true);
  });

  test("each match's first and last line: a continued instruction spans its lines", () => {
    expect(instructionLines("FROM a\nRUN apk add \\\n  curl \\\n  git\n", "RUN apk add curl git")).toEqual([{ line: 2, end: 4 }]);
    expect(instructionLines(text, "RUN false")).toEqual([{ line: 8, end: 8 }]);
    expect(instructionLines("FROM a\nRUN make\nRUN make\n", "RUN make")).toEqual([
      { line: 2, end: 2 },
      { line: 3, end: 3 },
    ]);
  });

  test("another instruction is not held", () => {
    expect(hasInstruction(text, "RUN true")).toBe(false);
    expect(hasInstruction(text, "RUN echo 7")).toBe(false);
    expect(hasInstruction(text, "FROM busybox:1")).toBe(false);
    expect(hasInstruction("FROM base\nRUN echo app > /app\n", "RUN false")).toBe(false);
  });
});
