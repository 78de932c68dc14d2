// The gate's event stream (/api/v1/stream, server-sent events): the page hears of every decision, measuring
// prompt, abandoned passage and status change as it happens, and never polls. EventSource reconnects by itself;
// body[data-live] says whether the page is connected (tests wait for it).

export function connect(handlers, onOpen) {
  const stream = new EventSource("/api/v1/stream");
  for (const [type, handle] of Object.entries(handlers)) {
    stream.addEventListener(type, (e) => handle(JSON.parse(e.data)));
  }
  stream.addEventListener("open", async () => {
    await onOpen();
    document.body.dataset.live = "1";
  });
  stream.onerror = () => { document.body.dataset.live = "0"; };
  return stream;
}
