<<<<<<<< HEAD:api/console/dist/assets/interactions-Grn9aC9X.js
import{Y as t,S as o}from"./index-CLXLOjE7.js";const c=n=>o("/interactions",n),i=n=>o(`/interactions/${encodeURIComponent(n)}`),s=n=>t(`/interactions/${encodeURIComponent(n)}/audio`),r=(n,e)=>t(`/interactions/${encodeURIComponent(n)}/transcript`,{format:e}),p=n=>t(`/interactions/${encodeURIComponent(n)}/evidence`,{format:"flac"});export{s as a,p as e,i as g,c as l,r as t};
========
import{Z as t,K as o}from"./index-BUEpbYX1.js";const c=n=>o("/interactions",n),i=n=>o(`/interactions/${encodeURIComponent(n)}`),s=n=>t(`/interactions/${encodeURIComponent(n)}/audio`),r=(n,e)=>t(`/interactions/${encodeURIComponent(n)}/transcript`,{format:e}),p=n=>t(`/interactions/${encodeURIComponent(n)}/evidence`,{format:"flac"});export{s as a,p as e,i as g,c as l,r as t};
>>>>>>>> inspection:api/console/dist/assets/interactions-CBZ-qbI-.js
