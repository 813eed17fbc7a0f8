import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);
import{a,b,c,d,e}from"./chunk-66LUG5LT.js";import"./chunk-TNQD5Z63.js";import"./chunk-CR5JLPR7.js";import"./chunk-JGPXTP6T.js";import"./chunk-HNIAJEH4.js";import"./chunk-QH4XWE6M.js";import"./chunk-RK2YE5BC.js";export{a as concurrencyOf,b as default,e as explain,d as finalSummary,c as runPlan};
