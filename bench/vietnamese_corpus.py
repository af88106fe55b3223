"""A deterministic synthetic Vietnamese archive for the search bench.

What makes it realistic enough to measure search on:
- names drawn from the real distribution of family names (Nguyễn about 38 %, Trần 11 %, …),
  common middle names and about a hundred and fifty given names, so that "Nguyễn Thị Nguyên" and
  "Nguyên Thị Nguyễn" both occur and many people share a family name;
- a vocabulary of a few thousand distinct syllables: the congress language (báo cáo, nhiệm kỳ,
  nghị quyết …) at its natural high frequency, then thousands of generated syllables (onset +
  rime + tone, written with the tone mark on the right vowel) with a Zipf distribution;
- about four hundred units (phường, xã, thị trấn) and the five mass organisations;
- record sizes: a congress row holds its roster (30 to 2,000 names, log-normal) and agenda; a
  document row holds a text of a few hundred to several thousand syllables (log-normal).
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

FAMILY = [("Nguyễn", 38.4), ("Trần", 11.0), ("Lê", 9.5), ("Phạm", 7.1), ("Hoàng", 4.6), ("Huỳnh", 4.2),
          ("Phan", 4.5), ("Vũ", 3.9), ("Võ", 3.0), ("Đặng", 2.1), ("Bùi", 2.0), ("Đỗ", 1.4), ("Hồ", 1.3),
          ("Ngô", 1.3), ("Dương", 1.0), ("Lý", 0.5), ("Đinh", 0.5), ("Trương", 0.5), ("Đào", 0.4), ("Cao", 0.4),
          ("Lương", 0.3), ("Mai", 0.3), ("Tô", 0.2), ("Hà", 0.2), ("Tạ", 0.2), ("Châu", 0.2), ("Lâm", 0.2),
          ("Thái", 0.2), ("Quách", 0.1), ("Kiều", 0.1), ("Văn", 0.1), ("Triệu", 0.1), ("La", 0.1)]
MIDDLE_WOMEN = ["Thị", "Thị", "Thị", "Ngọc", "Thu", "Hồng", "Kim", "Thanh", "Minh", "Bích", "Mỹ", "Diệu",
                "Phương", "Hoài", "Thùy", "Ánh", "Xuân", "Tuyết", "Bảo", "Khánh"]
MIDDLE_MEN = ["Văn", "Văn", "Đức", "Minh", "Quang", "Hữu", "Công", "Đình", "Xuân", "Thanh", "Quốc", "Tuấn",
              "Gia", "Bảo", "Trọng", "Mạnh", "Hoàng", "Ngọc"]
GIVEN_WOMEN = ("Anh An Bích Chi Cúc Dung Duyên Đào Điệp Giang Hà Hạnh Hằng Hiền Hoa Hòa Hồng Huệ Hương Hường "
               "Huyền Khánh Lan Liên Liễu Linh Loan Lụa Ly Mai My Nga Ngân Ngọc Nguyên Nguyệt Nhàn Nhung Oanh "
               "Phương Phượng Quyên Quỳnh Sen Tâm Thảo Thắm Thanh Thơ Thủy Thư Thương Trang Trâm Trinh Tuyết "
               "Uyên Vân Vy Xuân Yến Hậu Lành Mận Nụ Thêu Tình Dịu Hảo Lệ Nương").split()
GIVEN_MEN = ("An Bình Cường Chiến Công Dũng Duy Đạt Đông Đức Giang Hải Hào Hiếu Hiệp Hòa Hoàng Hùng Huy Khải "
             "Khang Khoa Kiên Lâm Lộc Long Luân Minh Nam Nghĩa Nguyên Nhân Phát Phong Phúc Quân Quang Quý Sơn "
             "Tài Tân Thắng Thành Thiện Thịnh Toàn Trí Trung Trường Tú Tuấn Tùng Việt Vinh Vũ Bảo Chính Định "
             "Hưng Lực Mạnh Nhật Sang Tâm Thái Tiến Trọng").split()
ORGS = ["Hội Liên hiệp Phụ nữ", "Đoàn Thanh niên Cộng sản Hồ Chí Minh", "Hội Nông dân", "Hội Cựu chiến binh",
        "Ủy ban Mặt trận Tổ quốc"]
PLACE_A = ("Tân An Bình Phước Hòa Long Thạnh Phú Đông Tây Vĩnh Mỹ Hiệp Thới Trung Quang Xuân Cát Hưng Thuận "
           "Bến Đa Lạc Nhơn").split()
PLACE_B = ("Phú Nghé Kao Định Lộc Hòa Bình Thạnh Khánh Hưng Lợi Thới Sơn Điền Hải Mỹ Tây Đông Trung Thành Quới "
           "Chánh Nhựt Tiến").split()
UNIT_KINDS = ["phường", "xã", "thị trấn"]
DOMAIN = ("đại hội|đại biểu|báo cáo|chính trị|nhiệm kỳ|phương hướng|nhiệm vụ|nghị quyết|biên bản|kiểm phiếu|"
          "bầu cử|ban chấp hành|ban thường vụ|chủ tịch|phó chủ tịch|thư ký|công tác|tuyên truyền|phụ nữ|thanh niên|"
          "nông dân|cựu chiến binh|kinh tế|xã hội|giáo dục|y tế|môi trường|an sinh|chuyển đổi số|hội viên|"
          "phát triển|tổ chức|đoàn kết|thi đua|khen thưởng|kiểm điểm|tự phê bình|phê bình|chỉ tiêu|kết quả|"
          "thực hiện|triển khai|vận động|hỗ trợ|giảm nghèo|sinh kế|khởi nghiệp|gia đình|trẻ em|bình đẳng giới|"
          "phòng chống|bạo lực|an toàn|giao thông|văn hóa|thể thao|quốc phòng|an ninh|chính quyền|mặt trận|"
          "đoàn thể|cơ sở|chi hội|chi đoàn|tổ dân phố|khu phố|ấp|thôn|buổi sáng|buổi chiều|khai mạc|bế mạc|"
          "thông qua|biểu quyết|nhất trí|tán thành|có mặt|vắng mặt|triệu tập|chính thức|dự khuyết|khách mời|"
          "tham luận|ý kiến|đóng góp|kiến nghị|đề xuất|giải pháp|mục tiêu|năm|tháng|ngày|đồng chí|"
          "và|của|các|những|trong|được|đã|với|cho|là|có|để|theo|về|tại|này|từ|đến|một|không|người").split("|")
ONSETS = ["", "b", "c", "ch", "d", "đ", "g", "gi", "h", "k", "kh", "l", "m", "n", "ng", "nh", "p", "ph", "qu", "r",
          "s", "t", "th", "tr", "v", "x"]
RIMES = [  # (rime, index of the vowel that takes the tone mark)
    ("a", 0), ("ai", 0), ("ao", 0), ("au", 0), ("ay", 0), ("an", 0), ("ang", 0), ("anh", 0), ("am", 0), ("at", 0),
    ("ac", 0), ("ach", 0), ("ăn", 0), ("ăng", 0), ("ăm", 0), ("ăt", 0), ("ân", 0), ("âng", 0), ("âm", 0),
    ("ây", 0), ("âu", 0), ("e", 0), ("en", 0), ("eo", 0), ("em", 0), ("ê", 0), ("ên", 0), ("ênh", 0), ("êu", 0),
    ("i", 0), ("in", 0), ("inh", 0), ("im", 0), ("ich", 0), ("iêu", 1), ("iên", 1), ("iêng", 1), ("o", 0),
    ("oa", 1), ("oan", 1), ("oang", 1), ("oai", 1), ("on", 0), ("ong", 0), ("oi", 0), ("ô", 0), ("ôn", 0),
    ("ông", 0), ("ôi", 0), ("ơ", 0), ("ơn", 0), ("ơi", 0), ("u", 0), ("un", 0), ("ung", 0), ("ui", 0),
    ("uân", 1), ("uyên", 2), ("uy", 1), ("ư", 0), ("ưng", 0), ("ươn", 1), ("ương", 1), ("ươi", 1), ("y", 0)]
TONES = {v: [v, *marks] for v, marks in {
    "a": "àáảãạ", "ă": "ằắẳẵặ", "â": "ầấẩẫậ", "e": "èéẻẽẹ", "ê": "ềếểễệ", "i": "ìíỉĩị", "o": "òóỏõọ",
    "ô": "ồốổỗộ", "ơ": "ờớởỡợ", "u": "ùúủũụ", "ư": "ừứửữự", "y": "ỳýỷỹỵ"}.items()}


def _syllables() -> list[str]:
    out = []
    for onset, (rime, at) in itertools.product(ONSETS, RIMES):
        stops = rime.endswith(("t", "c", "ch", "p"))
        for tone in ((0, 2, 5) if stops else range(6)):  # checked syllables take only sắc or nặng
            if stops and tone == 0:
                continue
            out.append(onset + rime[:at] + TONES[rime[at]][tone] + rime[at + 1:])
    return sorted(set(out))


def lower_first(unit: str) -> str:
    """"Thị trấn Củ Chi" inside a title: "thị trấn Củ Chi"."""
    kind = next(k for k in UNIT_KINDS if unit.lower().startswith(k))
    return kind + unit[len(kind):]


@dataclass(frozen=True)
class Row:
    kind: str
    unit: str
    year: int
    title: str
    body: str


class Corpus:
    def __init__(self, seed: int = 9) -> None:
        self.rng = random.Random(seed)
        rng = self.rng
        syllables = _syllables()
        rng.shuffle(syllables)
        self.syllables = syllables
        # Domain words first and frequent, then the syllables with a Zipf tail.
        vocabulary = DOMAIN + syllables
        weights = [8.0 / (1 + i) ** 0.6 for i in range(len(DOMAIN))] + [
            6.0 / (1 + i) ** 1.05 for i in range(len(syllables))]
        self.vocabulary = vocabulary
        self._cum = list(itertools.accumulate(weights))
        self._family = [f for f, _ in FAMILY]
        self._family_cum = list(itertools.accumulate(w for _, w in FAMILY))
        units = sorted({f"{kind.capitalize()} {a} {b}" for kind in UNIT_KINDS for a in PLACE_A for b in PLACE_B
                        if a != b})
        self.units = rng.sample(units, 420)
        # Sentences are built once and reused: bodies cost a few choices each, not one per word.
        self.sentences = [self._sentence() for _ in range(30_000)]

    def word(self) -> str:
        return self.vocabulary[bisect.bisect(self._cum, self.rng.random() * self._cum[-1])]

    def _sentence(self) -> str:
        words = [self.word() for _ in range(self.rng.randint(6, 22))]
        return words[0].capitalize() + " " + " ".join(words[1:]) + "."

    def name(self) -> str:
        rng = self.rng
        family = self._family[bisect.bisect(self._family_cum, rng.random() * self._family_cum[-1])]
        if rng.random() < 0.6:  # most delegates of these organisations are women
            return f"{family} {rng.choice(MIDDLE_WOMEN)} {rng.choice(GIVEN_WOMEN)}"
        return f"{family} {rng.choice(MIDDLE_MEN)} {rng.choice(GIVEN_MEN)}"

    def _lognormal(self, median: float, sigma: float, low: int, high: int) -> int:
        return max(low, min(high, int(self.rng.lognormvariate(math.log(median), sigma))))

    def text(self, syllables: int) -> str:
        parts, count = [], 0
        while count < syllables:
            sentence = self.rng.choice(self.sentences)
            if self.rng.random() < 0.08:
                sentence = f"Đồng chí {self.name()} {sentence[0].lower()}{sentence[1:]}"
            parts.append(sentence)
            count += sentence.count(" ") + 1
        return " ".join(parts)

    def rows(self, count: int) -> Iterator[Row]:
        rng = self.rng
        for i in range(count):
            org, unit, year = rng.choice(ORGS), rng.choice(self.units), rng.randint(2012, 2026)
            if i % 5 == 0:
                roman = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII"]
                title = (f"Đại hội {org} {lower_first(unit)} lần thứ {rng.choice(roman)}" if rng.random() < 0.5 else
                         f"Đại hội đại biểu {org} {lower_first(unit)} nhiệm kỳ {year}–{year + 5}")
                roster = [self.name() for _ in range(self._lognormal(120, 0.9, 30, 2_000))]
                agenda = [self.text(rng.randint(8, 20)) for _ in range(rng.randint(4, 10))]
                body = " ".join([org, unit, f"Hội trường {unit}", *agenda, *roster])
                yield Row("congress", unit, year, title, body)
            else:
                kind, label = rng.choice([("report", "Báo cáo chính trị"), ("report", "Báo cáo kiểm điểm"),
                                          ("resolution", "Nghị quyết"), ("minutes", "Biên bản"),
                                          ("reference", "Chương trình hành động")])
                title = f"{label} {org} {lower_first(unit)} nhiệm kỳ {year}–{year + 5}"
                yield Row(kind, unit, year, title, self.text(self._lognormal(450, 0.8, 60, 8_000)))
