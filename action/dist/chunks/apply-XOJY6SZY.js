import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);
import{a,b,c,d,e}from"./chunk-SNH5ZCUE.js";import"./chunk-T3YE4XS6.js";import"./chunk-SHRXJ4UX.js";import"./chunk-5L5U5WBZ.js";import"./chunk-QN4J2QG7.js";import"./chunk-X3VUS3LN.js";import"./chunk-RK2YE5BC.js";export{a as concurrencyOf,b as default,e as explain,d as finalSummary,c as runPlan};
