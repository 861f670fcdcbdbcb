-- wrk -s bench/search_rotate.lua URL: GET /api/v1/items with a different q= on every request, so the
-- portal's micro-cache always misses (python -m bench --only search-http). Each wrk thread numbers
-- its own requests and starts from its own offset; the shapes are those people type: an item name, a
-- 俗称, a colloquial phrase, full pinyin and initials.
local subjects = {"居民身份证", "户口", "机动车", "驾驶证", "护照", "港澳通行证", "台湾通行证", "居住证", "犬只",
  "电动自行车", "旅馆业", "公章", "保安服务", "烟花爆竹", "行驶证", "号牌", "出生", "姓名", "签注", "外国人签证"}
local actions = {"申领", "换领", "补领", "登记", "变更", "注销", "迁入", "迁出", "签发", "延期", "审验", "备案",
  "许可", "查询", "更正", "核发", "抵押", "转移", "恢复", "证明"}
local aliases = {"身份证", "户口本", "驾照", "年检", "上牌", "过户", "办护照", "狗证", "良民证", "刻章", "签证", "续签"}
local pinyin = {"huzhao", "jiashizheng", "shenfenzheng", "hukou", "jiuzhuzheng", "qianzhu", "gangao", "xingshizheng"}
local initials = {"hz", "jsz", "sfz", "hk", "jzz", "qz", "gatxz", "xsz", "jdc", "ddzxc"}

counter = 0
offset = 0 -- set per thread by setup(): the threads' numbers never meet
local thread_no = 0

function setup(thread)
  thread:set("offset", thread_no * 1000000)
  thread_no = thread_no + 1
end

local function encode(s)
  return (s:gsub("[^%w]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local function pick(t, n)
  return t[(n % #t) + 1]
end

function request()
  counter = counter + 1
  local n = offset + counter
  local kind = n % 5
  local q
  if kind == 0 then
    q = pick(subjects, n) .. pick(actions, math.floor(n / 7)) .. n
  elseif kind == 1 then
    q = pick(aliases, n) .. n
  elseif kind == 2 then
    q = "我想办" .. pick(subjects, math.floor(n / 3)) .. pick(actions, math.floor(n / 11)) .. "要什么" .. n
  elseif kind == 3 then
    q = pick(pinyin, n) .. n
  else
    q = pick(initials, n) .. pick(actions, math.floor(n / 13)) .. n
  end
  return wrk.format("GET", "/api/v1/items?q=" .. encode(q))
end
