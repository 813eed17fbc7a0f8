import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);
import{a,b,c,d,e}from"./chunk-U4BUNETK.js";import"./chunk-RJQBQOFX.js";import"./chunk-5CBXTUW2.js";import"./chunk-5L5U5WBZ.js";import"./chunk-DP4GHJJE.js";import"./chunk-X3VUS3LN.js";import"./chunk-RK2YE5BC.js";export{a as concurrencyOf,b as default,e as explain,d as finalSummary,c as runPlan};
