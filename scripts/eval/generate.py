#!/usr/bin/env python3
"""Generate a labelled evaluation set for techmesh matchmaking.

Writes OUT/offers.jsonl, OUT/requests.jsonl (entry bodies, DATA-MODEL §2) and
OUT/labels.json: for every request, the offers that truly match it, and the slices
it belongs to:

- cross_language: the request shares no language with any of its true offers;
- cross_scheme: the request's codes are in a scheme none of its true offers uses,
  so only a recognised mapping (scripts/demo-data/mappings-*.json) connects them.

Ground truth is topical: an offer matches a request when both are about the same
technology and every hard rule holds (types, validity on 2026-11-28, scope,
target countries, transfer modes, maturity). Distractors per topic: an expired
offer, a national-scope offer (relevant only to the Chinese request), an offer
not targeting the requester's country, a low-maturity offer; and every other
topic's offers (some share words such as "solar" or a WIPO field).

Deterministic (seeded). Usage: generate.py OUT_DIR [--seed N]
"""
import json
import random
import sys
from pathlib import Path

TODAY = "2026-11-28"

# topic: words per language (title, keywords), codes per scheme as the demo
# mapping sets relate them (gbt4754 -> nace2 -> isic4; ipc -> wipo35).
TOPICS = [
    dict(key="battery", ipc="H01M 10/0525", ipc_broad="H01M", gbt="C3841", nace="27.20", isic="2720", wipo="1",
         en=("lithium-ion battery cells and battery pack manufacturing", ["lithium-ion battery", "battery pack", "energy storage cells"]),
         fr=("fabrication de cellules et de packs de batteries lithium-ion", ["batterie lithium-ion", "pack de batteries", "stockage d'énergie"]),
         ru=("производство литий-ионных аккумуляторов и батарейных модулей", ["литий-ионный аккумулятор", "батарейный модуль", "накопитель энергии"]),
         zh=("锂离子电池电芯与电池模组制造技术", ["锂离子电池", "电池模组", "储能电芯"])),
    dict(key="wind", ipc="F03D 17/00", ipc_broad="F03D", gbt="C3415", nace="28.11", isic="2811", wipo="27",
         en=("wind turbine blade condition monitoring", ["wind turbine", "blade monitoring", "predictive maintenance"]),
         fr=("surveillance de l'état des pales d'éoliennes", ["éolienne", "surveillance des pales", "maintenance prédictive"]),
         ru=("мониторинг состояния лопастей ветровых турбин", ["ветровая турбина", "мониторинг лопастей", "предиктивное обслуживание"]),
         zh=("风电机组叶片状态在线监测", ["风力发电机", "叶片监测", "预测性维护"])),
    dict(key="irrigation", ipc="A01G 25/02", ipc_broad="A01G", gbt="C3572", nace="28.30", isic="2821", wipo="29",
         en=("smart drip irrigation and fertigation equipment", ["drip irrigation", "fertigation", "water saving"]),
         fr=("équipement d'irrigation goutte-à-goutte et de fertigation", ["irrigation goutte-à-goutte", "fertigation", "économie d'eau"]),
         ru=("оборудование для капельного орошения и фертигации", ["капельное орошение", "фертигация", "экономия воды"]),
         zh=("智能滴灌水肥一体化设备", ["滴灌", "水肥一体化", "节水灌溉"])),
    dict(key="pvcell", ipc="H01L 31/18", ipc_broad="H01L", gbt="C3825", nace="26.11", isic="2610", wipo="8",
         en=("high-efficiency heterojunction solar cell production", ["solar cell", "heterojunction", "photovoltaic manufacturing"]),
         fr=("production de cellules solaires à hétérojonction à haut rendement", ["cellule solaire", "hétérojonction", "fabrication photovoltaïque"]),
         ru=("производство высокоэффективных гетеропереходных солнечных элементов", ["солнечный элемент", "гетеропереход", "фотоэлектрическое производство"]),
         zh=("高效异质结太阳能电池量产工艺", ["太阳能电池", "异质结", "光伏制造"])),
    dict(key="rail", ipc="B61L 23/04", ipc_broad="B61L", gbt="C3716", nace="30.20", isic="3020", wipo="32",
         en=("railway track condition monitoring with fibre-optic sensing", ["railway track", "fibre-optic sensing", "track monitoring"]),
         fr=("surveillance des voies ferrées par capteurs à fibre optique", ["voie ferrée", "fibre optique", "surveillance des voies"]),
         ru=("мониторинг состояния железнодорожного пути оптоволоконными датчиками", ["железнодорожный путь", "оптоволоконный датчик", "мониторинг пути"]),
         zh=("基于光纤传感的铁路轨道状态监测", ["铁路轨道", "光纤传感", "轨道监测"])),
    dict(key="ultrasound", ipc="A61B 8/44", ipc_broad="A61B", gbt="C3581", nace="26.60", isic="2660", wipo="13",
         en=("portable handheld ultrasound diagnostic imaging", ["handheld ultrasound", "diagnostic imaging", "point-of-care"]),
         fr=("échographe portable pour l'imagerie diagnostique", ["échographie portable", "imagerie diagnostique", "soins primaires"]),
         ru=("портативный ультразвуковой аппарат для диагностики", ["портативное УЗИ", "диагностическая визуализация", "первичная помощь"]),
         zh=("便携式掌上超声诊断成像设备", ["掌上超声", "诊断成像", "基层医疗"])),
    dict(key="herbal", ipc="A61K 36/00", ipc_broad="A61K", gbt="C2740", nace="21.20", isic="2100", wipo="16",
         en=("standardised herbal medicine extracts for malaria", ["herbal medicine", "plant extract", "antimalarial"]),
         fr=("extraits de plantes médicinales standardisés contre le paludisme", ["médecine traditionnelle", "extrait de plante", "antipaludique"]),
         ru=("стандартизированные растительные экстракты против малярии", ["фитопрепарат", "растительный экстракт", "противомалярийный"]),
         zh=("抗疟标准化中药提取物", ["中药提取物", "植物提取", "抗疟"])),
    dict(key="biofert", ipc="C12N 1/20", ipc_broad="C12N", gbt="C2625", nace="20.15", isic="2012", wipo="15",
         en=("microbial biofertiliser for saline soils", ["biofertiliser", "microbial inoculant", "saline soil"]),
         fr=("biofertilisant microbien pour sols salins", ["biofertilisant", "inoculant microbien", "sol salin"]),
         ru=("микробное биоудобрение для засоленных почв", ["биоудобрение", "микробный инокулянт", "засоленная почва"]),
         zh=("耐盐碱微生物菌肥", ["微生物菌肥", "菌剂", "盐碱地"])),
    dict(key="recycling", ipc="C22B 7/00", ipc_broad="C22B", gbt="C4210", nace="38.32", isic="3830", wipo="20",
         en=("recycling of electronic scrap and recovery of precious metals", ["e-waste recycling", "precious metal recovery", "urban mining"]),
         fr=("recyclage des déchets électroniques et récupération des métaux précieux", ["recyclage des déchets électroniques", "métaux précieux", "mine urbaine"]),
         ru=("переработка электронного лома и извлечение драгоценных металлов", ["переработка электронных отходов", "драгоценные металлы", "городская добыча"]),
         zh=("电子废弃物回收与贵金属提取技术", ["电子废弃物", "贵金属回收", "城市矿产"])),
    dict(key="software", ipc="G06Q 50/06", ipc_broad="G06Q", gbt="I6513", nace="62.01", isic="6201", wipo="7",
         en=("utility billing and prepaid metering software platform", ["billing software", "prepaid metering", "mobile payment"]),
         fr=("plateforme logicielle de facturation et de compteurs prépayés", ["logiciel de facturation", "compteur prépayé", "paiement mobile"]),
         ru=("программная платформа для биллинга и предоплаченного учёта", ["биллинговое программное обеспечение", "предоплаченный учёт", "мобильный платёж"]),
         zh=("公用事业计费与预付费电表软件平台", ["计费软件", "预付费电表", "移动支付"])),
    dict(key="desal", ipc="C02F 1/44", ipc_broad="C02F", gbt="M7320", nace="72.19", isic="7210", wipo="24",
         en=("solar-powered reverse osmosis desalination", ["desalination", "reverse osmosis", "drinking water"]),
         fr=("dessalement par osmose inverse alimenté par énergie solaire", ["dessalement", "osmose inverse", "eau potable"]),
         ru=("опреснение воды обратным осмосом на солнечной энергии", ["опреснение", "обратный осмос", "питьевая вода"]),
         zh=("太阳能反渗透海水淡化装置", ["海水淡化", "反渗透", "饮用水"])),
    dict(key="leaching", ipc="C22B 3/18", ipc_broad="C22B", gbt="B0911", nace="07.29", isic="0729", wipo="20",
         en=("bacterial heap leaching of low-grade copper ore", ["bioleaching", "heap leaching", "copper ore"]),
         fr=("lixiviation bactérienne en tas de minerai de cuivre à faible teneur", ["biolixiviation", "lixiviation en tas", "minerai de cuivre"]),
         ru=("бактериальное кучное выщелачивание бедных медных руд", ["биовыщелачивание", "кучное выщелачивание", "медная руда"]),
         zh=("低品位铜矿细菌堆浸技术", ["生物浸出", "堆浸", "铜矿"])),
    dict(key="drone", ipc="B64U 10/00", ipc_broad="B64U", gbt="C3963", nace="30.30", isic="3030", wipo="32",
         en=("agricultural spraying drones", ["crop spraying drone", "unmanned aerial vehicle", "precision spraying"]),
         fr=("drones agricoles de pulvérisation", ["drone de pulvérisation", "véhicule aérien sans pilote", "pulvérisation de précision"]),
         ru=("сельскохозяйственные дроны для опрыскивания", ["дрон-опрыскиватель", "беспилотный летательный аппарат", "точное опрыскивание"]),
         zh=("农业植保无人机喷洒技术", ["植保无人机", "无人机", "精准喷洒"])),
    dict(key="glass", ipc="C03C 3/04", ipc_broad="C03C", gbt="C3099", nace="23.99", isic="2399", wipo=None,
         en=("continuous basalt fibre production", ["basalt fibre", "mineral fibre", "composite rebar"]),
         fr=("production de fibre de basalte continue", ["fibre de basalte", "fibre minérale", "armature composite"]),
         ru=("производство непрерывного базальтового волокна", ["базальтовое волокно", "минеральное волокно", "композитная арматура"]),
         zh=("连续玄武岩纤维生产技术", ["玄武岩纤维", "矿物纤维", "复合筋材"])),
    dict(key="vision", ipc="G06N 3/08", ipc_broad="G06N", gbt=None, nace=None, isic=None, wipo="6",
         en=("deep-learning crop disease recognition app", ["crop disease", "deep learning", "image recognition"]),
         fr=("application de reconnaissance des maladies des cultures par apprentissage profond", ["maladie des cultures", "apprentissage profond", "reconnaissance d'images"]),
         ru=("приложение для распознавания болезней растений на основе глубокого обучения", ["болезни растений", "глубокое обучение", "распознавание изображений"]),
         zh=("基于深度学习的农作物病害识别应用", ["作物病害", "深度学习", "图像识别"])),
    dict(key="grid", ipc="H02J 3/38", ipc_broad="H02J", gbt=None, nace=None, isic=None, wipo="1",
         en=("solar mini-grid controllers and inverters", ["mini-grid", "solar inverter", "grid controller"]),
         fr=("contrôleurs et onduleurs pour mini-réseaux solaires", ["mini-réseau", "onduleur solaire", "contrôleur de réseau"]),
         ru=("контроллеры и инверторы для солнечных мини-сетей", ["мини-сеть", "солнечный инвертор", "контроллер сети"]),
         zh=("光伏微电网控制器与逆变器", ["微电网", "光伏逆变器", "电网控制器"])),
]

FILLER = {
    "en": ("Proven technology with pilot installations; the partner offers know-how, training and after-sales support. Suitable for {w}.",
           "We are looking for a partner with proven technology for {w}; licence or joint implementation preferred, with training of local staff."),
    "fr": ("Technologie éprouvée avec installations pilotes ; le partenaire apporte savoir-faire, formation et service après-vente. Adaptée à {w}.",
           "Nous recherchons un partenaire disposant d'une technologie éprouvée pour {w} ; licence ou mise en œuvre conjointe, avec formation du personnel local."),
    "ru": ("Проверенная технология с пилотными установками; партнёр предоставляет ноу-хау, обучение и сервис. Подходит для: {w}.",
           "Ищем партнёра с проверенной технологией: {w}; предпочтительна лицензия или совместное внедрение с обучением местного персонала."),
    "zh": ("技术成熟，已有示范应用，可提供技术诀窍、人员培训和售后支持。适用于{w}。",
           "寻求具备成熟技术的合作伙伴：{w}；优先技术许可或合作实施，并培训本地技术人员。"),
}
FOREIGN = {"en": ["KE", "NG", "EG", "ET", "GH"], "fr": ["SN", "CI", "FR", "MA"], "ru": ["KZ", "UZ"]}
ALL_TARGETS = ["CN", "KE", "NG", "EG", "ET", "GH", "SN", "CI", "FR", "MA", "KZ", "UZ"]


def text(t, langs, role):
    title, summary, kw = {}, {}, {}
    for lang in langs:
        phrase, words = t[lang]
        title[lang] = phrase if role == "offer" else (
            {"en": "Need: ", "fr": "Recherche : ", "ru": "Требуется: ", "zh": "需求："}[lang] + phrase)
        summary[lang] = FILLER[lang][0 if role == "offer" else 1].format(w=phrase)
        kw[lang] = words
    return title, summary, kw


def entry(local_id, etype, t, langs, classes, country, org, **kw):
    title, summary, keywords = text(t, langs, etype)
    e = {
        "local_id": local_id, "entry_type": etype, "title": title, "summary": summary,
        "keywords": keywords, "classifications": [{"scheme": s, "code": c} for s, c in classes],
        "organisation": {"name": {langs[0]: org}, "kind": "enterprise" if etype == "request" else "university",
                         "country": country},
        "valid_from": kw.get("valid_from", "2026-06-01"), "valid_until": kw.get("valid_until", "2027-12-31"),
        "scope": kw.get("scope", "international"),
    }
    e["transfer_modes"] = ["licence", "rd_cooperation"] if etype == "offer" else ["licence", "joint_implementation"]
    if "trl" in kw:
        e["trl"] = {"scheme": "trl-eu", "level": kw["trl"]}
    if "targets" in kw:
        e["target_countries"] = kw["targets"]
    return e


def generate(seed):
    rnd = random.Random(seed)
    offers, requests, labels = [], [], {}
    for ti, t in enumerate(TOPICS):
        k = t["key"]
        spec = []  # (id, langs, classes, extra, kind)
        gbt = [("gbt4754", t["gbt"])] if t["gbt"] else []
        ipc = [("ipc", t["ipc"])]
        tech = [("cn-techfield", "先进制造")]
        spec.append((f"o-{k}-1", ["zh"], (gbt or ipc) + tech, dict(trl=7), "good"))
        spec.append((f"o-{k}-2", ["zh", "en"], ipc + gbt + tech, dict(trl=8), "good"))
        spec.append((f"o-{k}-3", ["en"], ipc, dict(trl=6), "good"))
        spec.append((f"o-{k}-4", [rnd.choice(["ru", "fr"])], ipc, dict(trl=9), "good"))
        spec.append((f"o-{k}-x", ["zh", "en"], ipc + gbt, dict(trl=8, valid_from="2024-06-01", valid_until="2026-05-31"), "expired"))
        spec.append((f"o-{k}-n", ["zh"], ipc + gbt + tech, dict(trl=8, scope="national"), "national"))
        spec.append((f"o-{k}-t", ["zh", "en"], ipc, dict(trl=8, targets=["VN", "LA"]), "elsewhere"))
        kinds = {}
        for oid, langs, classes, extra, kind in spec:
            country = "CN" if kind != "good" or "zh" in langs else rnd.choice(["DE", "KZ", "FR", "EG"])
            extra = dict(extra)
            if kind == "good" and "targets" not in extra:
                extra["targets"] = ALL_TARGETS
            offers.append(entry(oid, "offer", t, langs, classes, country, f"Org {oid}", **extra))
            kinds[oid] = (kind, langs, {s for s, _ in classes if s != "cn-techfield"}, extra.get("trl"))

        views = [
            ("hier", "en", [("ipc", t["ipc_broad"])]),
            ("exact", "fr", [("ipc", t["ipc"])]),
            ("nace", "ru", [("nace2", t["nace"])] if t["nace"] else [("ipc", t["ipc_broad"])]),
            ("isic", "en", [("isic4", t["isic"])] if t["isic"] else [("ipc", t["ipc"])]),
            ("wipo", "fr", [("wipo35", t["wipo"])] if t["wipo"] else [("ipc", t["ipc_broad"])]),
            ("cn", "zh", gbt or ipc),
            ("trl", "en", [("ipc", t["ipc"])]),
        ]
        for vi, (view, lang, classes) in enumerate(views):
            rid = f"r-{k}-{view}"
            country = "CN" if lang == "zh" else rnd.choice(FOREIGN[lang])
            extra = {"trl": 8} if view == "trl" else {}
            requests.append(entry(rid, "request", t, [lang], classes, country, f"Org {rid}", **extra))
            rel = []
            for oid, (kind, langs, schemes, trl) in kinds.items():
                if kind in ("expired", "elsewhere"):
                    continue
                if kind == "national" and country != "CN":
                    continue
                if view == "trl" and (trl or 0) < 8:
                    continue
                rel.append((oid, langs, schemes))
            rschemes = {s for s, _ in classes}
            labels[rid] = {
                "relevant": sorted(o for o, _, _ in rel),
                "cross_language": all(lang not in langs for _, langs, _ in rel),
                "cross_scheme": all(not (rschemes & schemes) for _, _, schemes in rel),
            }
    return offers, requests, labels


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = Path(sys.argv[1])
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 7
    out.mkdir(parents=True, exist_ok=True)
    offers, requests, labels = generate(seed)
    for name, rows in (("offers.jsonl", offers), ("requests.jsonl", requests)):
        with open(out / name, "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    (out / "labels.json").write_text(json.dumps(labels, ensure_ascii=False, indent=1), encoding="utf-8")
    n_cl = sum(v["cross_language"] for v in labels.values())
    n_cs = sum(v["cross_scheme"] for v in labels.values())
    print(f"{len(offers)} offers, {len(requests)} requests ({n_cl} cross-language, {n_cs} cross-scheme) in {out}")


if __name__ == "__main__":
    main()
