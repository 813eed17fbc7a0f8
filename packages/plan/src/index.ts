export { mayRetry, PLAN_VERSION, refLabel, runsAfterStop, SHARD_VERSION, type StepKind, valueRef } from "./format.ts";
export {
  attestedDigest,
  INPUT_HASH_LABEL,
  INPUT_PARTS_LABEL,
  isAttestation,
  isImageEntry,
  OCI_CREATED,
  OCI_REF_NAME,
  OCI_REVISION,
  OCI_SOURCE,
  parsePartsText,
  partsText,
} from "./labels.ts";
export { asPlan, planIdentity } from "./plan-views.ts";
export {
  archSuffix,
  configPlatform,
  descriptorPlatform,
  isPlatform,
  KNOWN_PLATFORMS,
  nativeArchs,
  type Platform,
  type PlatformParts,
  parsePlatform,
  perArchTag,
  platformParts,
  platformSlug,
  qemuHandler,
} from "./platform.ts";
// parsePlanFile and parseShard: from "@multiarch/plan/read" (they build the zod schemas; compiling needs none)
export {
  byDigest,
  type Checked,
  checkFullName,
  checkRepositoryPath,
  checkTag,
  type ImageRef,
  parseImageRef,
  parseRegistryUrl,
  type RegistryUrl,
  referenceName,
  repositoryRef,
} from "./reference.ts";
export type {
  ArchPlan,
  Arg,
  Builder,
  Built,
  Command,
  EngineFacts,
  GitFacts,
  ImageInputFacts,
  Plan,
  PlannedImage,
  PlannedRef,
  PublishedTag,
  Shard,
  Stage,
  Step,
  Strategy,
  ValueRef,
  Verified,
  Yield,
} from "./schema.ts";
export { sha256 } from "./sha256.ts";
export {
  bakeStepId,
  buildStepId,
  CLEANUP_LOCAL_STAGING,
  CLEANUP_TESTED,
  imageStepId,
  loginStepId,
  refStepId,
  tagPushStepId,
  testStepId,
} from "./step-id.ts";
export { closest, didYouMean } from "./suggest.ts";
