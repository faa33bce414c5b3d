// The dev server's live reload, added only to the pages the preview serves (never to a build).
// It keeps a websocket to the server and reloads the page when the site is rebuilt. Its own address
// carries the number of the build the page comes from (`?build=7`): on every (re)connection it tells
// the server, which answers "reload" at once when a newer build came out while the tab had no socket.
(function () {
  "use strict";
  var script = document.currentScript;
  var build = script ? new URL(script.src).searchParams.get("build") : null;
  var wait = 50;

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/livereload");
    socket.onopen = function () {
      wait = 50;
      socket.send(JSON.stringify({command: "hello", protocols: ["http://livereload.com/protocols/official-7"]}));
      socket.send(JSON.stringify({command: "info", url: location.href, build: build}));
    };
    socket.onmessage = function (event) {
      var message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (message && message.command === "reload") {
        socket.onclose = null;  // reloading: this page will not reconnect
        location.reload();
      }
    };
    socket.onclose = function () {
      setTimeout(connect, wait);  // the server restarting, or a rebuild that closed nothing: try again soon
      wait = Math.min(wait * 2, 2000);
    };
  }

  connect();
}());
