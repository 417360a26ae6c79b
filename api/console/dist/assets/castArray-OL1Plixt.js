import{b2 as a}from"./index-BO7M7OoT.js";function e(){if(!arguments.length)return[];var r=arguments[0];return a(r)?r:[r]}export{e as c};
