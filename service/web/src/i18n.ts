/** The verify page's words, in English and Simplified Chinese. */
import { DETAILS, type DetailKey } from "../../core/bundle/details.js";
import type { CheckId } from "../../core/bundle/verify.js";
import type { KeyState } from "../../core/ledger/schema.js";

export { fill } from "../../core/bundle/details.js";

export type Lang = "en" | "zh-CN";

const en = {
  title: "Verify your card key",
  intro:
    "Type the key you bought. Your browser checks, by itself, that the issuer registered it, what happened to it since, and that the record is the one anchored on the blockchain. The key is sent only to this service, never in a link.",
  codeLabel: "Card key",
  orderLabel: "Order number (optional)",
  verify: "Verify",
  verifying: "Checking…",
  footer: "KeyProof — a transparency ledger for card keys. Every record is public, signed and anchored on chain.",
  genuine: "Genuine",
  notRegistered: "Not registered",
  notRegisteredHelp: "No issuer registered this key. It may be mistyped, or it was never issued: ask the seller for a refund.",
  failed: "Verification failed",
  failedHelp: "The service's answer did not pass the checks below. Do not trust this key; keep the evidence file for your dispute.",
  unused: "Unused",
  redeemed: "Redeemed",
  void: "Void",
  expired: "Expired",
  issuer: "Issuer",
  sku: "Product",
  face: "Face value",
  batch: "Batch",
  expires: "Expires",
  issuedAt: "Issued",
  transfers: "Passed to",
  soldBy: "Sold by",
  notSold: "not sold yet",
  redeemedAt: "Redeemed",
  voided: "Voided",
  order: "Your order",
  orderMatch: "matches this sale",
  orderNoMatch: "does NOT match the recorded sale",
  orderElsewhere:
    "This key was sold, but not to the order you typed. If you paid for it under that order, the shop sold it to someone else too: keep the evidence file for your dispute.",
  orderUnsold:
    "The shop has not recorded a sale of this key. If you paid for it, ask the shop to record your order, and keep the evidence file.",
  redeemedWarning:
    "This key was already redeemed ({time}): it cannot be used again. If you have just bought it, you were sold a used key: keep the evidence file for your dispute.",
  voidWarning:
    "The issuer voided this key ({time}: {reason}): it cannot be used. If you have just bought it, keep the evidence file for your dispute.",
  expiredWarning:
    "This key expired ({time}): it may no longer be usable. If you have just bought it, keep the evidence file for your dispute.",
  checks: "Checks done in your browser",
  anchored: "Anchored on chain in block {block}, transaction {tx}",
  pending: "Waiting for the next anchor: the record is signed, and will be written on chain shortly.",
  download: "Download evidence",
  rateLimited: "Too many checks from your network just now. Please wait a minute and try again.",
  error: "Something went wrong: {message}",
  at: "at",
  // A failed check's own error text is in English (the verifier's words): said so where the page is not.
  technical: "{detail}",
} as const;

type Words = { [K in keyof typeof en]: string };

const zh: Words = {
  title: "验证您的卡密",
  intro:
    "输入您购买的卡密。您的浏览器会自行核验：发行方是否登记过它、之后发生了什么，以及该记录是否与区块链上的锚定一致。卡密只发送给本服务，绝不会出现在链接中。",
  codeLabel: "卡密",
  orderLabel: "订单号（可选）",
  verify: "验证",
  verifying: "正在核验…",
  footer: "KeyProof——卡密透明账本。每条记录公开、签名并锚定在链上。",
  genuine: "正品",
  notRegistered: "未登记",
  notRegisteredHelp: "没有任何发行方登记过此卡密。可能输入有误，或它从未被发行：请向卖家申请退款。",
  failed: "核验失败",
  failedHelp: "服务返回的数据未通过下列检查。请不要信任此卡密，并保留证据文件用于维权。",
  unused: "未使用",
  redeemed: "已兑换",
  void: "已作废",
  expired: "已过期",
  issuer: "发行方",
  sku: "商品",
  face: "面值",
  batch: "批次",
  expires: "有效期至",
  issuedAt: "发行时间",
  transfers: "转交给",
  soldBy: "售出方",
  notSold: "尚未售出",
  redeemedAt: "兑换时间",
  voided: "作废",
  order: "您的订单",
  orderMatch: "与此次销售一致",
  orderNoMatch: "与登记的销售记录不一致",
  orderElsewhere: "此卡密已售出，但不是售给您输入的订单。如果您以该订单付款购买了它，说明商家把它另售给了他人：请保留证据文件用于维权。",
  orderUnsold: "商家尚未登记此卡密的销售。如果您已付款，请要求商家登记您的订单，并保留证据文件。",
  redeemedWarning: "此卡密已被兑换（{time}），不能再次使用。如果您刚刚购买了它，说明商家卖给您的是已使用的卡密：请保留证据文件用于维权。",
  voidWarning: "发行方已作废此卡密（{time}：{reason}），无法使用。如果您刚刚购买了它，请保留证据文件用于维权。",
  expiredWarning: "此卡密已过期（{time}），可能无法使用。如果您刚刚购买了它，请保留证据文件用于维权。",
  checks: "在您的浏览器中完成的检查",
  anchored: "已锚定在区块 {block}，交易 {tx}",
  pending: "等待下一次锚定：记录已签名，将很快写入区块链。",
  download: "下载证据",
  rateLimited: "您的网络刚才查询过于频繁，请稍等一分钟后再试。",
  error: "出现问题：{message}",
  at: "于",
  technical: "技术细节（英文）：{detail}",
};

export const WORDS: Record<Lang, Words> = { en, "zh-CN": zh };

/** One line per check, passed or failed, in each language. */
export const CHECK_WORDS: Record<Lang, Record<CheckId, [string, string]>> = {
  en: {
    format: ["The evidence is well formed", "The evidence is malformed"],
    log: ["It comes from the log it names", "It names a log it does not come from"],
    signature: ["The log's signature on the checkpoint is valid", "The checkpoint signature is invalid"],
    commitment: ["The key you typed is the registered key", "The key you typed is not this record's key"],
    inclusion: ["Every event of this key is in the public log", "An event is not in the public log"],
    chain: ["The key's history is complete and unbroken", "The key's history is broken"],
    state: ["The status follows from the history", "The status does not follow from the history"],
    map: ["The status is the one committed for all keys", "The status is not the committed one"],
    order: ["The order number matches the sale", "The order number does not match the sale"],
    anchor: ["The blockchain holds this exact record", "The blockchain holds a different record"],
  },
  "zh-CN": {
    format: ["证据格式正确", "证据格式错误"],
    log: ["证据来自其声明的账本", "证据并非来自其声明的账本"],
    signature: ["账本对检查点的签名有效", "检查点签名无效"],
    commitment: ["您输入的卡密就是登记的卡密", "您输入的卡密与此记录不符"],
    inclusion: ["此卡密的每个事件都在公开账本中", "有事件不在公开账本中"],
    chain: ["此卡密的历史完整、连续", "此卡密的历史有断裂"],
    state: ["状态与历史记录相符", "状态与历史记录不符"],
    map: ["该状态与全体卡密的承诺一致", "该状态与承诺不一致"],
    order: ["订单号与销售记录一致", "订单号与销售记录不一致"],
    anchor: ["区块链上保存的正是这份记录", "区块链上保存的是另一份记录"],
  },
};

export function pickLanguage(languages: readonly string[]): Lang {
  for (const l of languages) {
    if (/^zh\b/i.test(l)) return "zh-CN";
    if (/^en\b/i.test(l)) return "en";
  }
  return "en";
}

/**
 * What each check found, worded per language: English is the core's own
 * (what the tools print), Chinese is here. Values are filled in as given,
 * except `status`, which is worded too (STATUS_WORDS).
 */
export const DETAIL_WORDS: Record<Lang, Record<DetailKey, string>> = {
  en: DETAILS,
  "zh-CN": {
    "format.ok": "格式正确：keyproof/bundle/v1",
    "log.ok": "账本 {origin}",
    "log.trustedKey": "账本 {origin}（验证密钥可信）",
    "log.trustedContract": "账本 {origin}（合约可信）",
    "log.trustedBoth": "账本 {origin}（验证密钥与合约可信）",
    "signature.ok": "大小为 {size} 的检查点由 {origin} 签名",
    "commitment.ok": "输入的卡密与该卡密的承诺一致",
    "inclusion.ok": "{events} 个事件都在大小为 {size} 的账本中",
    "chain.ok": "这些事件从发行到最新构成一条完整、连续的历史",
    "state.ok": "状态「{status}」由这些事件推出",
    "map.ok": "该卡密的状态已承诺在映射根中",
    "order.match": "此卡密售给了这个订单",
    "order.other": "此卡密售给了另一个订单",
    "order.unsold": "此卡密尚未售出",
    "anchor.unchecked": "未检查区块链",
    "anchor.waiting": "此检查点正在等待下一次锚定",
    "anchor.missing": "区块链在此大小没有锚定",
    "anchor.ok": "区块链保存了大小为 {size} 的此检查点的根",
    "anchor.okTx": "区块链保存了大小为 {size} 的此检查点的根，由区块 {block} 中的交易 {tx} 写入",
    "anchor.okTxUnknown":
      "区块链保存了大小为 {size} 的此检查点的根；此 RPC 节点不知道证据包所称的交易 {tx}（节点会丢弃旧交易的索引），因此未检查该交易",
    "anchor.txMissing": "区块链保存了此检查点的根，但区块 {block} 中没有证据包所称写入它们的交易 {tx}",
    "anchor.txFuture": "证据包所称的交易 {tx} 位于区块 {block}，而区块链尚未产生该区块",
    "anchor.txReverted": "证据包所称写入此检查点的交易 {tx} 执行失败",
    "anchor.okTxMoved":
      "区块链保存了大小为 {size} 的此检查点的根，由区块 {minedIn} 中的交易 {tx} 写入；证据包称其在区块 {block}（证据包生成后区块链发生了重组，或证据包被改动过）",
    "anchor.txOther": "证据包所称的交易 {tx} 并未锚定此检查点",
    "anchor.forked": "区块链在此大小保存了不同的根：账本已分叉",
    "anchor.unverified": "没有已核验的检查点可供查询",
    "anchor.otherSize": "证据包的锚定记录属于大小 {anchored}，而其检查点的大小为 {size}",
  },
};

/** A key's status, worded per language (in the `state.ok` detail). */
export const STATUS_WORDS: Record<Lang, Record<KeyState["status"], string>> = {
  en: { issued: "issued", sold: "sold", redeemed: "redeemed", void: "void" },
  "zh-CN": { issued: "已发行", sold: "已售出", redeemed: "已兑换", void: "已作废" },
};
