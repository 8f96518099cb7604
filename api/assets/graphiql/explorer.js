// Starts GraphiQL on the page /graphql serves. A file of its own, not an inline script, so the
// page's Content-Security-Policy can allow scripts from our own origin only.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  // Subscriptions over WebSocket at the same path (graphql-transport-ws; the headers pane's
  // `Authorization` or `X-Api-Key` become the connection's credentials).
  var subscriptionUrl = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/graphql";
  var fetcher = GraphiQL.createFetcher({ url: "/graphql", subscriptionUrl: subscriptionUrl });
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
    })
  );
})();
