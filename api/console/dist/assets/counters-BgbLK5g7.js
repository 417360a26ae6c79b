import{m as t,j as o}from"./index-BzE9rC88.js";const e=()=>t("/counters"),a=s=>o(`/counters/${s}/live`);export{e as a,a as l};
