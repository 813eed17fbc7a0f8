// Every label and annotation name the tool writes or reads, defined once: the compiler puts them on
// images and indexes, the executor reads them back from registries.

/** The hash of everything an image is built from: on each image's config and, with bake, on the index. */
export const INPUT_HASH_LABEL = "io.multiarch.input-hash";
/** The hash of each kind of input (partsText), to say which changed. */
export const INPUT_PARTS_LABEL = "io.multiarch.inputs";

/** The parts as one label/annotation value: short hashes, no commas (exporter options are CSV). */
export const partsText = (parts: Record<string, string>): string =>
  Object.entries(parts)
    .map(([k, v]) => `${k}:${v.slice(0, 12)}`)
    .join(" ");

/** A parts label read back (what a tag's index or image carries). */
export const parsePartsText = (text: string | undefined): Record<string, string> | undefined =>
  text ? Object.fromEntries(text.split(" ").map((kv) => [kv.slice(0, kv.indexOf(":")), kv.slice(kv.indexOf(":") + 1)])) : undefined;

/** The standard OCI labels a build adds (unless build.ociLabels is off). */
export const OCI_REVISION = "org.opencontainers.image.revision";
export const OCI_CREATED = "org.opencontainers.image.created";
export const OCI_SOURCE = "org.opencontainers.image.source";
/** An index entry's tag in an OCI layout (index.json), which buildx writes and a registry index must not carry. */
export const OCI_REF_NAME = "org.opencontainers.image.ref.name";
/** How buildx marks an attestation manifest in an index. */
const REFERENCE_TYPE = "vnd.docker.reference.type";
const REFERENCE_DIGEST = "vnd.docker.reference.digest";

/** Whether an index entry is an attestation manifest (buildx's provenance and SBOM), not a platform's image. */
export const isAttestation = (d: { annotations?: Record<string, string> | undefined }): boolean => d.annotations?.[REFERENCE_TYPE] === "attestation-manifest";

/**
 * Whether an index entry is a platform's image: it names a platform that is no attestation (buildx marks
 * them; other tools write them as unknown/unknown).
 */
export const isImageEntry = (d: { platform?: { os: string } | undefined; annotations?: Record<string, string> | undefined }): boolean =>
  d.platform !== undefined && d.platform.os !== "unknown" && !isAttestation(d);

/** The image an attestation manifest is about. */
export const attestedDigest = (d: { annotations?: Record<string, string> | undefined }): string => d.annotations?.[REFERENCE_DIGEST] ?? "";
