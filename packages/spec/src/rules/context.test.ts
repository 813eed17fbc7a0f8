// Paths the spec names stay inside the repository, whatever folder the repository is: also / (a spec at
// the root of a container or a chroot); a Dockerfile is named as docker build reads it.
import { expect, test } from "vitest";
import { fsOf, problems } from "../testing/problems.ts";

test("a repository at / holds the contexts and Dockerfiles in it", () => {
  const fs = fsOf(["/", "/app"], ["/app/Dockerfile"]);
  expect(problems("version: 1\nimages:\n  app:\n    context: app\n", "/", fs)).toEqual([]);
  // an absolute Dockerfile is refused, with the relative path to write, as in any repository
  expect(problems("version: 1\nimages:\n  app:\n    context: app\n    dockerfile: /app/Dockerfile\n", "/", fs)).toEqual([
    ["path-absolute", expect.stringContaining("absolute path"), "write it relative to the context: dockerfile: Dockerfile"],
  ]);
});

// found by a review: an absolute context validated, where an absolute Dockerfile was refused for naming one machine's files
test("an absolute context, main or named, is refused as an absolute Dockerfile is, with the relative path to write", () => {
  const fs = fsOf(["/repo", "/repo/app", "/repo/shared", "/elsewhere"], ["/repo/app/Dockerfile"]);
  expect(problems("version: 1\nimages:\n  app:\n    context: /repo/app\n", "/repo", fs)).toEqual([
    ["path-absolute", expect.stringContaining("context /repo/app is an absolute path"), "write it relative to the spec's folder: context: app"],
  ]);
  expect(problems("version: 1\nimages:\n  app:\n    context: app\n    contexts: { shared: /repo/shared, other: /elsewhere }\n", "/repo", fs)).toEqual([
    ["path-absolute", expect.stringContaining("context shared: /repo/shared is an absolute path"), "write it relative to the spec's folder: shared: shared"],
    [
      "path-absolute",
      expect.stringContaining("context other: /elsewhere is an absolute path"),
      "put it in the repository and write its path relative to the spec's folder",
    ],
  ]);
});

// found by a review: a local cache's folder, which buildx writes, was the one path allowed outside the repository
test("a local cache's dir stays inside the repository, through links too; it need not exist yet", () => {
  const fs = fsOf(["/repo", "/repo/app", "/outside"], ["/repo/app/Dockerfile"], { "/repo/link": "/outside" });
  const cache = (dir: string) => problems(`version: 1\nimages:\n  app:\n    context: app\n    cache: { type: local, dir: "${dir}" }\n`, "/repo", fs);
  expect(cache(".multiarch/cache")).toEqual([]);
  expect(cache("../outside/c")).toEqual([
    ["path-outside-repo", expect.stringContaining("cache dir ../outside/c is outside the repository"), expect.any(String)],
  ]);
  expect(cache("link/c")).toEqual([["path-outside-repo", expect.stringContaining("cache dir link/c is outside the repository"), expect.any(String)]]);
  expect(cache("/etc/cachex")).toEqual([["path-absolute", expect.stringContaining("cache dir /etc/cachex is an absolute path"), expect.any(String)]]);
  // found by the re-test: a template there is not rendered, and buildx made a folder named {{cd}}
  expect(cache("{{cd}}")).toEqual([["invalid-value", "cache dir {{cd}}: a folder, not a template (it is not rendered)", expect.any(String)]]);
});

test("a context outside the repository is refused", () => {
  const fs = fsOf(["/", "/repo", "/other"], ["/other/Dockerfile"]);
  expect(problems("version: 1\nimages:\n  app:\n    context: ../other\n", "/repo", fs)).toEqual([
    ["path-outside-repo", "context ../other is outside the repository (/repo)", expect.any(String)],
  ]);
});

test("a Dockerfile path with a trailing / is refused: docker build -f would take it for a folder", () => {
  const fs = fsOf(["/repo", "/repo/app"], ["/repo/app/Dockerfile"]);
  expect(problems("version: 1\nimages:\n  app:\n    context: app\n    dockerfile: Dockerfile/\n", "/repo", fs)).toEqual([
    ["invalid-value", "dockerfile Dockerfile/ ends with /: it names a file", "write dockerfile: Dockerfile"],
  ]);
});

test("a remote context (git or https URL) is refused as written, not read as a path", () => {
  const fs = fsOf(["/repo"], []);
  expect(problems("version: 1\nimages:\n  app:\n    context: https://github.com/docker/buildx.git#v0.13.0\n", "/repo", fs)).toEqual([
    ["invalid-value", "context https://github.com/docker/buildx.git#v0.13.0 is remote: multiarch builds from a folder of the repository", expect.any(String)],
  ]);
});
