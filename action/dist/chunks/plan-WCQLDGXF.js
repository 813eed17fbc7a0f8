import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);
import{a,b}from"./chunk-RJQBQOFX.js";import"./chunk-5CBXTUW2.js";import"./chunk-5L5U5WBZ.js";import"./chunk-DP4GHJJE.js";import"./chunk-X3VUS3LN.js";import"./chunk-RK2YE5BC.js";export{a as default,b as summary};
