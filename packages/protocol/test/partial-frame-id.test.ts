import { expect, it } from "vitest";
import { idOfPartialBody } from "../src/partial-frame-id.js";

it("finds a request's top-level id in the first part of its body, and only a complete one", () => {
  expect(idOfPartialBody('{"jsonrpc":"2.0","id":7,"method":"session/enqueue","params":{"mess')).toBe(7);
  expect(idOfPartialBody('{ "jsonrpc" : "2.0" , "id" : "a\\"b" , "par')).toBe('a"b');
  // After nested values that hold an "id" of their own and braces inside strings.
  expect(idOfPartialBody('{"params":{"id":1,"text":"} {\\"id\\":2"},"list":[{"id":3}],"id":-4.5e1,"x')).toBe(-45);
  // Not (yet) complete, not first-level, or not a usable id.
  expect(idOfPartialBody('{"jsonrpc":"2.0","id":7')).toBeNull();
  expect(idOfPartialBody('{"jsonrpc":"2.0","id":"ab')).toBeNull();
  expect(idOfPartialBody('{"method":"x","params":{"id":1,"te')).toBeNull();
  expect(idOfPartialBody('{"id":null,"method"')).toBeNull();
  expect(idOfPartialBody('{"id":nope,"method"')).toBeNull();
  expect(idOfPartialBody('[{"id":1}')).toBeNull();
  expect(idOfPartialBody("")).toBeNull();
});
