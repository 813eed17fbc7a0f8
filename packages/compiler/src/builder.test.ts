import { describe, expect, test } from "vitest";
import { builderOf } from "./builder.ts";
import { specRepo } from "./testing/spec-repo.ts";

const specOf = (builder: string) =>
  specRepo(`version: 1\nplatforms: [linux/amd64, linux/arm64, linux/arm/v7]\nbuild:\n${builder}\nimages:\n  app: { context: app }\n`);

describe("multi-node builders as data", () => {
  test("remote: the first node creates the builder, each further node is appended, platforms as buildx writes them", () => {
    const b = builderOf(
      specOf(`  builder:
    name: fleet
    driver: remote
    nodes:
      - { platforms: [linux/amd64], endpoint: "tcp://10.0.0.1:1234" }
      - { name: pi, platforms: [linux/arm64, linux/arm/v7], endpoint: "tcp://10.0.0.2:1234", driverOpts: { cacert: /certs/ca.pem } }`),
    );
    expect(b?.create.map((c) => [c.program, ...c.args].join(" "))).toEqual([
      "docker buildx create --name fleet --driver remote --node fleet-0 --platform linux/amd64 tcp://10.0.0.1:1234",
      "docker buildx create --name fleet --append --node pi --platform linux/arm64,linux/arm/v7 --driver-opt cacert=/certs/ca.pem tcp://10.0.0.2:1234",
    ]);
    expect(b?.nodes).toEqual([
      { name: "fleet-0", platforms: ["linux/amd64"], endpoint: "tcp://10.0.0.1:1234" },
      { name: "pi", platforms: ["linux/arm64", "linux/arm/v7"], endpoint: "tcp://10.0.0.2:1234" },
    ]);
  });

  test("kubernetes and docker-container: no endpoint needed; a builder named by a string compiles nothing", () => {
    const k = builderOf(
      specOf(`  builder:
    name: k8s
    driver: kubernetes
    nodes:
      - { platforms: [linux/amd64], driverOpts: { namespace: ci, nodeselector: "kubernetes.io/arch=amd64" } }
      - { platforms: [linux/arm64, linux/arm/v7], driverOpts: { namespace: ci, nodeselector: "kubernetes.io/arch=arm64" } }`),
    );
    expect(k?.create[1]?.args).toEqual([
      "buildx",
      "create",
      "--name",
      "k8s",
      "--append",
      "--node",
      "k8s-1",
      "--platform",
      "linux/arm64,linux/arm/v7",
      "--driver-opt",
      "namespace=ci",
      "--driver-opt",
      "nodeselector=kubernetes.io/arch=arm64",
    ]);
    expect(builderOf(specOf("  builder: mine"))).toBeUndefined();
  });
});
