// Every word the page shows, in the page's language: the server renders its translation catalog into #catalog.
export const T = JSON.parse(document.getElementById("catalog").textContent);
