<<<<<<<< HEAD:api/console/dist/assets/interactions-DTZr30-4.js
import{Y as t,S as o}from"./index-mg3TgdFN.js";const c=n=>o("/interactions",n),i=n=>o(`/interactions/${encodeURIComponent(n)}`),s=n=>t(`/interactions/${encodeURIComponent(n)}/audio`),r=(n,e)=>t(`/interactions/${encodeURIComponent(n)}/transcript`,{format:e}),p=n=>t(`/interactions/${encodeURIComponent(n)}/evidence`,{format:"flac"});export{s as a,p as e,i as g,c as l,r as t};
========
import{Y as t,S as o}from"./index-CbB-tVry.js";const c=n=>o("/interactions",n),i=n=>o(`/interactions/${encodeURIComponent(n)}`),s=n=>t(`/interactions/${encodeURIComponent(n)}/audio`),r=(n,e)=>t(`/interactions/${encodeURIComponent(n)}/transcript`,{format:e}),p=n=>t(`/interactions/${encodeURIComponent(n)}/evidence`,{format:"flac"});export{s as a,p as e,i as g,c as l,r as t};
>>>>>>>> edge:api/console/dist/assets/interactions-9DZh1ujx.js
