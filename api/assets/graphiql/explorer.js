// Starts GraphiQL on the page /graphql serves. A file of its own, not an inline script, so the
// page's Content-Security-Policy can allow scripts from our own origin only.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var fetcher = GraphiQL.createFetcher({ url: "/graphql" });
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
    })
  );
})();
