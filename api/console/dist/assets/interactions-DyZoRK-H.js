<<<<<<<< HEAD:api/console/dist/assets/interactions-DyZoRK-H.js
import{Y as t,S as o}from"./index-G4ssIC_2.js";const c=n=>o("/interactions",n),i=n=>o(`/interactions/${encodeURIComponent(n)}`),s=n=>t(`/interactions/${encodeURIComponent(n)}/audio`),r=(n,e)=>t(`/interactions/${encodeURIComponent(n)}/transcript`,{format:e}),p=n=>t(`/interactions/${encodeURIComponent(n)}/evidence`,{format:"flac"});export{s as a,p as e,i as g,c as l,r as t};
========
import{Y as t,S as o}from"./index-Bj5zuptI.js";const c=n=>o("/interactions",n),i=n=>o(`/interactions/${encodeURIComponent(n)}`),s=n=>t(`/interactions/${encodeURIComponent(n)}/audio`),r=(n,e)=>t(`/interactions/${encodeURIComponent(n)}/transcript`,{format:e}),p=n=>t(`/interactions/${encodeURIComponent(n)}/evidence`,{format:"flac"});export{s as a,p as e,i as g,c as l,r as t};
>>>>>>>> hall:api/console/dist/assets/interactions-O4-_d1Cb.js
