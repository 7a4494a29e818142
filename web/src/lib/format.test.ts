import { describe, expect, it } from "vitest";
import { feature, num } from "./format";

describe("num", () => {
  it.each([
    [0.0982992546, "0.0983"],
    [0.000003108889591286311, "0.000003109"],
    [1.0167091424826027, "1.02"],
    [290.4022671940038, "290.4"],
    [797340, "797,340"],
    [0, "0"],
    [-0.0153, "-0.0153"],
  ])("formats %f as %s", (n, want) => expect(num(n)).toBe(want));
  it("shows a dash for no value", () => {
    expect(num(null)).toBe("—");
    expect(num(undefined)).toBe("—");
    expect(num(Number.NaN)).toBe("—");
  });
});

describe("feature", () => {
  it.each([
    [2015, "2015"],
    [1270, "1270"],
    [0.123456, "0.1235"],
    [5123.5, "5123.5"],
  ])("formats %f as %s", (n, want) => expect(feature(n)).toBe(want));
  it("shows a dash for a missing value", () => expect(feature(null)).toBe("—"));
});
