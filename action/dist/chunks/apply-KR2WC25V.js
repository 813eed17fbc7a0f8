import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);
import{a,b,c,d,e}from"./chunk-VRWUPPJ6.js";import"./chunk-YH6ZMIJB.js";import"./chunk-X4L2WSYC.js";import"./chunk-5L5U5WBZ.js";import"./chunk-M6BOVTOK.js";import"./chunk-X3VUS3LN.js";import"./chunk-RK2YE5BC.js";export{a as concurrencyOf,b as default,e as explain,d as finalSummary,c as runPlan};
