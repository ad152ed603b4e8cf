import { readFileSync } from "node:fs";
import { expect } from "chai";
import { SERVICE_NODE_FLAGS } from "../../bench/lib/service.js";

describe("bench service", () => {
  it("starts the service with the Node flags `npm start` gives it", () => {
    const { scripts } = JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> };
    const start = /tsx((?: --[\w-]+(?:=\S+)?)*) service\/main\.ts$/.exec(scripts.start!);
    expect(start, "npm start runs service/main.ts with tsx").to.not.equal(null);
    expect(start![1]!.trim().split(" ").filter(Boolean)).to.deep.equal(SERVICE_NODE_FLAGS);
  });
});
