// An app's event stream (server-sent events): the page hears of each change as it happens and never polls.
// EventSource reconnects by itself; body[data-live] says whether the page is connected (tests wait for it).

export function connect(url, handlers, onOpen) {
  const stream = new EventSource(url, { withCredentials: true });
  for (const [type, handle] of Object.entries(handlers)) {
    stream.addEventListener(type, (e) => handle(JSON.parse(e.data)));
  }
  stream.addEventListener("open", async () => {
    if (onOpen) await onOpen();
    document.body.dataset.live = "1";
  });
  stream.onerror = () => { document.body.dataset.live = "0"; };
  return stream;
}
