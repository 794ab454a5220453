// node:http2 as undici's HTTP/2 client sees it in rf-agent's bundle (scripts/bundle.mjs): the
// constants it names when it loads, and the real module only when it would connect over HTTP/2,
// which rf-agent never asks of it. Loading node:http2 itself took ~7 ms of every command's start.
// test/unit/scripts/http2-shim.test.ts checks these against Node's and against what undici names.
"use strict";

module.exports = {
  constants: {
    HTTP2_HEADER_AUTHORITY: ":authority",
    HTTP2_HEADER_METHOD: ":method",
    HTTP2_HEADER_PATH: ":path",
    HTTP2_HEADER_SCHEME: ":scheme",
    HTTP2_HEADER_CONTENT_LENGTH: "content-length",
    HTTP2_HEADER_EXPECT: "expect",
    HTTP2_HEADER_STATUS: ":status",
    HTTP2_HEADER_PROTOCOL: ":protocol",
    NGHTTP2_REFUSED_STREAM: 7,
    NGHTTP2_CANCEL: 8,
  },
  connect: (...args) => require("node:http2").connect(...args),
};
