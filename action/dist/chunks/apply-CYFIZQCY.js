import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);
import{a,b,c,d,e}from"./chunk-3SFKYGBI.js";import"./chunk-V5UQEOF4.js";import"./chunk-5CFYTMSI.js";import"./chunk-5L5U5WBZ.js";import"./chunk-WLLM6NQO.js";import"./chunk-X3VUS3LN.js";import"./chunk-RK2YE5BC.js";export{a as concurrencyOf,b as default,e as explain,d as finalSummary,c as runPlan};
