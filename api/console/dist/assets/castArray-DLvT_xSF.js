import{b3 as a}from"./index-Bo0Z_iLT.js";function e(){if(!arguments.length)return[];var r=arguments[0];return a(r)?r:[r]}export{e as c};
