"""Name tables for the synthetic Dutch municipality (:mod:`pplink.datasets.synthetic`).

Our own compilation of common names as they occur in the Netherlands, with a bias towards
Twente (Enschede). Frequencies are approximate: the common Dutch surnames carry rough
counts (thousands of bearers), every other list is ordered from common to rare and gets
Zipf-like weights. Surnames are ``(particle, surname)`` pairs, BRP style: the
*voorvoegsel* is kept apart from the *geslachtsnaam*.

Nothing here is personal data: these are frequent names, not people.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ORIGINS",
    "ORIGIN_SHARES",
    "FIRST_NAMES",
    "SURNAMES",
    "NICKNAMES",
    "PARTICLES",
    "dutch_surname_table",
    "zipf_weights",
]

# Origin groups (of the household's name tradition, not nationality).
#   nl Dutch (incl. Twente), tr Turkish, ma Moroccan, sr Surinamese/Antillean, de German,
#   pl Polish, ar Syrian/Iraqi, er Eritrean, ib Portuguese/Spanish/Brazilian, ww other western.
ORIGINS = ("nl", "tr", "ma", "sr", "de", "pl", "ar", "er", "ib", "ww")
# Rough shares for a Twente city such as Enschede (normalised on use).
ORIGIN_SHARES = {
    "nl": 0.735,
    "tr": 0.055,
    "ma": 0.015,
    "sr": 0.025,
    "de": 0.035,
    "pl": 0.025,
    "ar": 0.035,
    "er": 0.010,
    "ib": 0.010,
    "ww": 0.020,
}

# Tussenvoegsels as the BRP stores them (lower case).
PARTICLES = (
    "van", "de", "van der", "van den", "van de", "den", "der", "ter", "ten", "te", "'t",
    "van 't", "in 't", "op de", "uit de", "in de", "da", "dos",
)


def zipf_weights(n: int, s: float = 1.0, offset: float = 2.0) -> np.ndarray:
    """Normalised Zipf-Mandelbrot weights for ``n`` ranked items."""
    w = 1.0 / (np.arange(n, dtype=float) + offset) ** s
    return w / w.sum()


# --------------------------------------------------------------------------- first names
# Dutch names by birth cohort: "old" (< 1960), "mid" (1960-1989), "young" (>= 1990).
_NL_M_OLD = """Johannes Cornelis Hendrik Jan Gerrit Willem Pieter Jacobus Petrus Wilhelmus
Hendrikus Adrianus Antonius Gerardus Theodorus Franciscus Albertus Dirk Klaas Jacob Bernardus
Johan Hermanus Arend Gerhardus Lambertus Everhardus Engbert Egbert Harm Berend Frederik Marinus
Nicolaas Martinus Aart Teunis Evert Gradus Derk Bernard Jozef Leendert Gijsbert Wessel Hendrikus
Anton Alexander Andries Roelof""".split()
_NL_F_OLD = """Maria Johanna Cornelia Anna Hendrika Wilhelmina Elisabeth Catharina Geertruida
Adriana Jacoba Petronella Aaltje Grietje Gerdina Berendina Janna Hermina Aleida Gezina
Margaretha Theodora Antonia Everdina Gerharda Dina Gerda Alida Frederika Hillegonda Jantje
Klaasje Johanna Hendrikje Bernardina Geesje Willemina Fenna Dirkje Trijntje Hermina Engelina
Lamberta Sophia Helena""".split()
_NL_M_MID = """Mark Peter Michel Martijn Dennis Erik Jeroen Marco Robert Richard Patrick Sander Bas
Remco Rob Frank Marcel Arjan Edwin Wouter Ronald Paul Hans Jan-Willem Gert-Jan René André Ruud
Bart Stefan Vincent Maarten Niels Joost Roy Erwin Wilco Jasper Harm Johan Gerben Leon Daniël
Mathijs Jos Ivo Alexander Rik Hendrik Herman Eric Gerard""".split()
_NL_F_MID = """Linda Marieke Sandra Monique Esther Ingrid Petra Anja Wendy Kim Mariëlle Annemarie
Ilse Chantal Hélène Angélique Ellen Karin Saskia Miriam Jolanda Ria Anne-Marie Marjolein Judith
Manon Nicole Bianca Patricia Natasja Mirjam Suzanne Renée Yvonne Astrid Joyce Femke Marloes
Annemiek Daniëlle Erna Janneke Sylvia Hanneke Simone Marja Carola Henriëtte Maria""".split()
_NL_M_YOUNG = """Daan Sem Lucas Levi Finn Milan Noah Bram Luuk Jesse Thijs Ruben Lars Tim Thomas
Niels Sven Jayden Mees Luca Jens Stijn Gijs Tijn Teun Julian Max Hugo Siem Sam Mats Jurre Tygo
Joris Koen Rick Kevin Stan Nick Wessel Job Olivier Jelle Niek Daniël Joep Guus Owen Dex Boaz
Ryan Mick Timo Bas""".split()
_NL_F_YOUNG = """Emma Julia Sophie Tess Zoë Sara Lotte Eva Lisa Fleur Anna Noa Nina Evi Saar Mila
Lieke Femke Anouk Isa Roos Sanne Iris Lynn Naomi Noor Yara Eline Jasmijn Maud Lauren Sarah
Esmee Floor Liv Fenna Nova Chloë Amy Demi Romy Britt Ilse Ivy Lana Merel Puck Vera Lizzy Hannah
Anaïs Lieve Jade""".split()

_TR_M = """Mehmet Mustafa Ahmet Ali Hüseyin Hasan İbrahim Murat Emre Yusuf Burak Kemal Osman Ömer
Enes Furkan Çağlar Serkan Erkan Halil Recep Orhan Volkan Kerem Mert Arda Eren""".split()
_TR_F = """Ayşe Fatma Emine Hatice Zeynep Elif Merve Büşra Özlem Gül Esra Derya Songül Meryem
Sevgi Hülya Dilek Aylin Yasemin Ebru Nur Kübra Sultan Tülay Selin Ecrin Eylül""".split()
_MA_M = """Mohamed Mohammed Ahmed Youssef Said Mustapha Abdelkader Hamid Rachid Karim Bilal
Ayoub Amine Hamza Soufiane Mourad Khalid Driss Abdellah Redouan Nordin Yassine Anouar Ilias
Adam Zakaria""".split()
_MA_F = """Fatima Khadija Naima Malika Samira Latifa Souad Nadia Salma Imane Yasmina Hanane Houda
Aicha Rachida Zineb Nora Sanae Ikram Meryem Loubna Hafsa Sara Noor Kaoutar""".split()
_SR_M = """Ravi Sunil Radjesh Anil Romano Glenn Dwayne Jurgen Kenneth Ricardo Errol Clyde Rishi
Sandeep Jairo Gilbert Elton Ashwin Mitchell Giovanni Raoul Dave Ruben""".split()
_SR_F = """Shanti Sharda Priya Shirley Gracia Jennifer Xiomara Sharmila Anjali Reshma Sandhya
Gladys Marisol Jessica Cheryl Sherida Rosita Dianne Naomi Priscilla Chantal Geraldine""".split()
_DE_M = """Jürgen Klaus Stefan Thomas Michael Andreas Uwe Dieter Jörg Matthias Frank Günter
Wolfgang Hans-Peter Karl-Heinz Lukas Jonas Leon Felix Tobias Sebastian Florian Maximilian""".split()
_DE_F = """Ursula Sabine Petra Monika Claudia Birgit Jutta Gisela Käthe Renate Brigitte Karin
Anke Heike Sandra Katharina Julia Lena Hannah Leonie Anja Gabriele""".split()
_PL_M = """Piotr Krzysztof Tomasz Paweł Marcin Michał Łukasz Andrzej Jan Marek Grzegorz Adam
Mateusz Jakub Kamil Dariusz Rafał Wojciech""".split()
_PL_F = """Anna Katarzyna Małgorzata Agnieszka Joanna Magdalena Ewa Barbara Monika Aleksandra
Karolina Natalia Justyna Dorota Beata Marta Zofia""".split()
_AR_M = """Mohammad Ahmad Omar Khaled Hussein Ali Yaser Mahmoud Abdullah Mustafa Hassan Ibrahim
Bassel Rami Fadi Samer Tarek Wael Yousef Ammar Majd Karam""".split()
_AR_F = """Fatima Aya Rasha Hiba Noor Lina Rana Maryam Reem Dima Hala Sara Nour Rama Ghada Amal
Layla Yasmin Shahd Rawan""".split()
_ER_M = """Yonas Dawit Samuel Filmon Robel Tesfay Mulugeta Amanuel Habtom Yohannes Michael
Daniel Kidane Biniam Merhawi Efrem""".split()
_ER_F = """Semhar Helen Senait Luwam Selam Saba Yordanos Rahwa Hiwet Mebrat Ruta Feven Winta
Lidya Tsega""".split()
_IB_M = """João José António Luís Carlos Manuel Pedro Miguel Rui Paulo Jorge Javier Alejandro
Diego Tiago""".split()
_IB_F = """Ana Maria Inês Conceição Carla Sofia Beatriz Lúcia Marta Isabel Carmen Lucía Raquel
Patrícia Mariana""".split()
_WW_M = """François Jean-Pierre Pierre Michel Gérard Noël David James John Richard Marco Luca
Giuseppe Andrea Matteo Alessandro""".split()
_WW_F = """Hélène Céline Amélie Chloé Élodie Nathalie Isabelle Sophie Emily Sarah Laura Giulia
Francesca Chiara Émilie Margaux""".split()

#: ``FIRST_NAMES[(origin, sex, cohort)]`` -> names ordered from common to rare.
#: Cohorts: "old", "mid", "young"; non-Dutch origins use one list for every cohort.
FIRST_NAMES: dict[tuple[str, str, str], tuple[str, ...]] = {}
for _cohort, _m, _f in (("old", _NL_M_OLD, _NL_F_OLD), ("mid", _NL_M_MID, _NL_F_MID), ("young", _NL_M_YOUNG, _NL_F_YOUNG)):
    FIRST_NAMES[("nl", "M", _cohort)] = tuple(dict.fromkeys(_m))
    FIRST_NAMES[("nl", "V", _cohort)] = tuple(dict.fromkeys(_f))
for _origin, _m, _f in (
    ("tr", _TR_M, _TR_F), ("ma", _MA_M, _MA_F), ("sr", _SR_M, _SR_F), ("de", _DE_M, _DE_F),
    ("pl", _PL_M, _PL_F), ("ar", _AR_M, _AR_F), ("er", _ER_M, _ER_F), ("ib", _IB_M, _IB_F),
    ("ww", _WW_M, _WW_F),
):
    for _cohort in ("old", "mid", "young"):
        FIRST_NAMES[(_origin, "M", _cohort)] = tuple(dict.fromkeys(_m))
        FIRST_NAMES[(_origin, "V", _cohort)] = tuple(dict.fromkeys(_f))

# --------------------------------------------------------------------------- nicknames
#: Official given name -> call names (roepnamen) used for it in daily life.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "Johannes": ("Jan", "Hans", "Johan", "Joop", "Jo"),
    "Cornelis": ("Kees", "Cees", "Cor"),
    "Petrus": ("Piet", "Peter"),
    "Pieter": ("Piet",),
    "Wilhelmus": ("Willem", "Wim"),
    "Willem": ("Wim", "Pim"),
    "Hendrik": ("Henk", "Henny", "Rik"),
    "Hendrikus": ("Henk", "Hennie"),
    "Gerardus": ("Gerard", "Gert", "Geert"),
    "Gerhardus": ("Gerard", "Gert"),
    "Gerrit": ("Gert",),
    "Albertus": ("Bert", "Albert"),
    "Albert": ("Bert",),
    "Jacobus": ("Jaap", "Koos", "Co"),
    "Jacob": ("Jaap", "Koos"),
    "Adrianus": ("Arie", "Adrie", "Aad"),
    "Antonius": ("Toon", "Ton", "Anton"),
    "Theodorus": ("Theo", "Dorus"),
    "Franciscus": ("Frans", "Frank"),
    "Bernardus": ("Ben", "Bennie", "Bernard"),
    "Nicolaas": ("Klaas", "Nico", "Niek"),
    "Lambertus": ("Bert", "Lambert"),
    "Everhardus": ("Evert",),
    "Hermanus": ("Herman", "Manus"),
    "Martinus": ("Martin", "Tinus"),
    "Frederik": ("Frits", "Freek"),
    "Alexander": ("Sander", "Alex"),
    "Robert": ("Rob", "Bob"),
    "Richard": ("Rick",),
    "Thomas": ("Tom",),
    "Michael": ("Mike",),
    "Samuel": ("Sam",),
    "Daniël": ("Daan",),
    "Maximilian": ("Max",),
    "Maria": ("Mieke", "Ria", "Marieke", "Marja", "Mia"),
    "Johanna": ("Hanneke", "Jo", "Joke", "Anneke", "Annie"),
    "Wilhelmina": ("Willy", "Mien", "Wilma"),
    "Elisabeth": ("Els", "Lies", "Liesbeth", "Bep"),
    "Catharina": ("Toos", "Ina", "Katrien"),
    "Cornelia": ("Corrie", "Nel", "Cor"),
    "Hendrika": ("Riek", "Rika", "Henny"),
    "Geertruida": ("Truus", "Trudy", "Geertje"),
    "Adriana": ("Ria", "Adrie", "Jeanne"),
    "Jacoba": ("Coby", "Co"),
    "Petronella": ("Nel", "Nelly", "Ellie"),
    "Anna": ("Annie", "Anneke", "Ans"),
    "Margaretha": ("Greet", "Margriet", "Grietje"),
    "Gerdina": ("Dina", "Gerda"),
    "Berendina": ("Dina", "Dinie"),
    "Helena": ("Lenie", "Leny"),
    "Antonia": ("Toni", "Toos"),
    "Katharina": ("Katja", "Kathi"),
    "Mohamed": ("Mo",),
    "Mohammed": ("Mo",),
    "Mustafa": ("Musti",),
    "Abdelkader": ("Kader",),
    "Aleksandra": ("Ola",),
    "Małgorzata": ("Gosia",),
}

# --------------------------------------------------------------------------- surnames
# The most common Dutch surnames with approximate numbers of bearers (thousands).
_COMMON_NL = [
    ("de", "Jong", 86), ("", "Jansen", 74), ("de", "Vries", 72), ("van den", "Berg", 60),
    ("van", "Dijk", 57), ("", "Bakker", 56), ("", "Janssen", 55), ("", "Visser", 50),
    ("", "Smit", 47), ("", "Meijer", 45), ("de", "Boer", 42), ("", "Mulder", 40),
    ("de", "Groot", 39), ("", "Bos", 38), ("", "Vos", 34), ("", "Peters", 33),
    ("", "Hendriks", 33), ("van", "Leeuwen", 32), ("", "Dekker", 31), ("", "Brouwer", 30),
    ("de", "Wit", 29), ("", "Dijkstra", 29), ("", "Smits", 28), ("de", "Graaf", 27),
    ("van der", "Meer", 26), ("van der", "Linden", 25), ("", "Kok", 25), ("", "Jacobs", 24),
    ("de", "Haan", 24), ("", "Vermeulen", 24), ("van den", "Heuvel", 23), ("van der", "Veen", 23),
    ("van den", "Broek", 22), ("de", "Bruijn", 22), ("de", "Bruin", 22), ("van der", "Heijden", 22),
    ("", "Schouten", 21), ("van", "Beek", 21), ("", "Willems", 21), ("van", "Vliet", 20),
    ("van de", "Ven", 20), ("", "Hoekstra", 20), ("", "Maas", 20), ("", "Verhoeven", 20),
    ("", "Koster", 19), ("van", "Dam", 19), ("van der", "Wal", 19), ("", "Prins", 19),
    ("", "Blom", 19), ("", "Huisman", 19), ("", "Peeters", 18), ("de", "Jonge", 18),
    ("", "Kuipers", 18), ("van", "Veen", 18), ("", "Post", 17), ("", "Kuiper", 17),
    ("", "Veenstra", 17), ("", "Kramer", 17), ("van den", "Brink", 17), ("", "Scholten", 17),
    ("van", "Wijk", 16), ("", "Postma", 16), ("", "Martens", 16), ("", "Vink", 16),
    ("de", "Ruiter", 16), ("", "Timmermans", 15), ("", "Groen", 15), ("", "Gerritsen", 15),
    ("", "Jonker", 15), ("van", "Loon", 15), ("", "Boer", 15), ("van der", "Velde", 15),
    ("", "Willemsen", 15), ("", "Smeets", 14), ("de", "Lange", 14), ("de", "Vos", 14),
    ("", "Bosch", 14), ("van", "Dongen", 14), ("", "Schipper", 14), ("de", "Koning", 14),
    ("van der", "Laan", 14), ("", "Koning", 14), ("van der", "Velden", 14), ("", "Driessen", 13),
    ("van", "Doorn", 13), ("", "Hermans", 13), ("", "Evers", 13), ("van den", "Bosch", 13),
    ("van der", "Meulen", 13), ("", "Hofman", 13), ("", "Bosman", 13), ("", "Wolters", 13),
    ("", "Sanders", 13), ("van der", "Horst", 13), ("", "Mol", 12), ("", "Kuijpers", 12),
    ("", "Molenaar", 12), ("van de", "Pol", 12), ("de", "Leeuw", 12), ("", "Verbeek", 12),
    ("'t", "Hart", 6), ("van 't", "Hof", 4), ("in 't", "Veld", 5), ("op de", "Beek", 2),
    ("uit de", "Bosch", 1), ("van", "Rijn", 9), ("", "Meyer", 8), ("", "Heijmans", 5),
    ("", "Reijnders", 6), ("van", "Eijk", 7), ("", "Dijkman", 5), ("", "Bruijn", 4),
]

# Typical Twente surnames (Enschede, Hengelo, Almelo), incl. multi-word ones without particle.
_TWENTE = [
    ("", "Nijhuis"), ("", "Wolbers"), ("", "Kamphuis"), ("", "Brinkhuis"), ("", "Lansink"),
    ("", "Nijland"), ("", "Wessels"), ("", "Hulshof"), ("", "Kemna"), ("", "Hofste"),
    ("", "Roelofs"), ("", "Wiegman"), ("", "Pierik"), ("", "Schuurman"), ("", "Heerink"),
    ("", "Hassink"), ("", "Nijenhuis"), ("", "Bruggink"), ("", "Eshuis"), ("", "Weusthof"),
    ("", "Lenferink"), ("", "Kleissen"), ("", "Aarnink"), ("", "Hesselink"), ("", "Schutte"),
    ("", "Geerdink"), ("", "Tijhuis"), ("", "Morsink"), ("", "Veldhuis"), ("", "Wesselink"),
    ("", "Leferink"), ("", "Grobben"), ("", "Wolterink"), ("", "Meijerink"), ("", "Rouwhorst"),
    ("ter", "Horst"), ("ten", "Brinke"), ("ter", "Haar"), ("ten", "Cate"), ("te", "Riele"),
    ("ter", "Braak"), ("te", "Lintelo"), ("ten", "Hove"), ("te", "Brake"), ("ter", "Denge"),
    ("", "Oude Luttikhuis"), ("", "Olde Rikkert"), ("", "Oude Vrielink"), ("", "Groot Wassink"),
    ("", "Klein Gunnewiek"), ("", "Oude Kotte"), ("", "Olde Monnikhof"), ("", "Vrielink"),
    ("", "Dijkhuis"), ("", "Haverkate"), ("", "Scholten"), ("", "Boswinkel"), ("", "Reinders"),
    ("", "Mensink"), ("", "Stokkers"), ("", "Wijnbergen"), ("", "Ezendam"),
    ("", "Latuheru"), ("", "Pattinama"), ("", "Sahetapy"), ("", "Wattimena"), ("", "Tuhumury"),
]

_TR_S = """Yılmaz Kaya Demir Şahin Çelik Yıldız Yıldırım Öztürk Aydın Özdemir Arslan Doğan Kılıç
Aslan Çetin Kara Koç Kurt Özkan Şimşek Polat Korkmaz Erdoğan Aktaş Güler Tekin Ünal Karaca Bulut
Yavuz Acar Kaplan Keskin Özer Sarı Uçar Erdem Taş Gündüz Bozkurt""".split()
_MA_S = ["El Amrani", "Bouzid", "Ouali", "El Idrissi", "Benali", "Boukhari", "Aziz", "Tahiri",
         "Bakkali", "El Hadji", "Azzouzi", "Amrani", "Chaouch", "Haddouch", "Ait Taleb",
         "El Khattabi", "Ouahabi", "Zeroual", "Belhaj", "Boulahrouz", "El Ouazzani", "Mansouri",
         "Achahbar", "Essafi", "Lamrini", "Ben Haddou", "Kaddouri", "Rifi"]
_SR_S = ["Pinas", "Soekhoe", "Ramdin", "Jagroep", "Sewdien", "Bhagwandin", "Kanhai", "Biharie",
         "Wijngaarde", "Sedney", "Doekhie", "Abena", "Martina", "Isenia", "Rosaria", "Kromosoeto",
         "Ramsaran", "Mahabier", "Chandansingh", "Djasmo", "Kartowikromo", "Ramautar", "Lachman",
         "Panka", "Lie A Fo", "Tjon A Joe"]
_DE_S = """Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch
Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange
Schmitt Werner Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König Walter Mayer Huber
Kaiser Fuchs Lang Scholz Möller Weiß Jung Hahn Vogel Friedrich Keller Günther Berger Winkler Roth
Beck Lorenz Baumann Franke Albrecht Schuster Ludwig Böhm Winter Kraus Schumacher Krämer Vogt Stein
Jäger Otto Sommer Groß Seidel Brandt Haas Schreiber Graf Schulte""".split()
_PL_S = """Nowak Wójcik Kowalczyk Mazur Krawczyk Kaczmarek Zając Król Wieczorek Jabłoński Wróbel
Dudek Pawlak Walczak Stępień Górski Sikora Baran Michalak Szewczyk Ostrowski Tomaszewski Pietrzak
Duda Zalewski""".split()
_AR_S = ["Al-Hassan", "Haddad", "Khalil", "Hamdan", "Mansour", "Said", "Ibrahim", "Darwish",
         "Othman", "Al-Ahmad", "Al-Khatib", "Al-Ali", "Hussein", "Suleiman", "Abdullah", "Nasser",
         "Qasem", "Hamoud", "Al-Masri", "Saleh", "Yousef", "Issa", "Khoury", "Alhamwi", "Shaheen",
         "Kanaan", "Sabbagh"]
_ER_S = """Tesfay Gebremedhin Haile Tekle Berhane Ghebreyesus Kidane Tesfamariam Weldemichael
Gebreselassie Mehari Andemariam Ghebremeskel Habte Yemane Okbay Tewelde Asmerom""".split()
_IB_S = [("", "Brandão"), ("", "Gonçalves"), ("", "Araújo"), ("", "Pereira"), ("", "Ferreira"),
         ("", "Rodrigues"), ("da", "Silva"), ("dos", "Santos"), ("", "Fernandes"), ("", "Lopes"),
         ("", "Martins"), ("", "Sousa"), ("", "Costa"), ("", "Oliveira"), ("", "García"),
         ("", "Fernández"), ("", "López"), ("", "Martínez"), ("", "Sánchez"), ("", "Romero"),
         ("", "Pinto"), ("", "Moreira"), ("", "Monteiro"), ("", "Tavares"), ("", "Gomes"),
         ("da", "Costa"), ("", "Conceição")]
_WW_S = """Dubois Lefèvre Moreau Laurent Girard Fontaine Rousseau Mercier Smith Brown Wilson Taylor
O'Brien Murphy Rossi Russo Ferrari Esposito Bianchi Romano Ricci Colombo Bruno Kelly""".split()

#: ``SURNAMES[origin]`` -> ``(particle, surname)`` pairs ordered from common to rare
#: (for "nl" see :func:`dutch_surname_table`, which adds counts and a generated tail).
SURNAMES: dict[str, tuple[tuple[str, str], ...]] = {
    "tr": tuple(("", s) for s in _TR_S),
    "ma": tuple(("", s) for s in _MA_S),
    "sr": tuple(("", s) for s in _SR_S),
    "de": tuple(("", s) for s in _DE_S),
    "pl": tuple(("", s) for s in _PL_S),
    "ar": tuple(("", s) for s in _AR_S),
    "er": tuple(("", s) for s in _ER_S),
    "ib": tuple(_IB_S),
    "ww": tuple(("", s) for s in _WW_S),
}

# Parts for the long tail of Dutch surnames.
_STEMS = """Aal Ben Berg Bolt Borg Bos Brink Broek Brug Dal Dijk Dorp Eek Els Esch Geer Groen Haver
Heem Heer Hengel Hof Holt Hooge Horst Hul Kamp Kerk Klap Kolk Laar Lind Loo Meer Mol Nij Oost Peel
Ploeg Ros Ruit Schol Schoon Sloot Steen Stok Veen Veld Voor Vos Weer Wester Wil Wolt Zand Zwart
Rijk Wijn Blij Lei Spijk Tij Wei Geel""".split()
_SUFFIXES = """huis man mans inga stra ink ers kamp hof horst veld berg dijk sma ema broek beek hoven
werf land meijer sen ing enga hout kes boom brink link er""".split()
_VAN_PLACES = """Kampen Deventer Rijswijk Houten Gelder Es Oss Haaren Hengel Delden Goor Hattem Zwol
Ommen Bergen Tiel Rossum Ginkel Lochem Eerde Wijhe Raalte Dalen Lent Hamel Eck Woerden Asten Geffen
Ravenstein""".split()
_VAN_DER = """Veen Heide Kolk Sluis Steeg Weide Linde Molen Vecht Zande Stoep Kooij Bijl Plas Wiel
Schaaf Burg Graaf Spek Maat Zwaag Lee Hoek Ploeg Pijl Vaart""".split()
_VAN_DEN = """Hoek Akker Hurk Dries Oever Kamp Eijnde Bergh Nieuwenhof Elsen Boom Wildenberg
Hazel Bogaard Dungen Hout Brand""".split()
_VAN_DE = """Kamp Wetering Sande Water Graaf Laar Weijer Riet Kerkhof Moosdijk Vorst Lustgraaf""".split()
_DE = """Klerk Kleijn Rooij Mooij Beer Smet Backer Weerd Jager Geus Kruijf Wilde Ridder Munnik Lange
Reus Vet Visser Kort Zwart Meester Heus Greef Kock Pater Baas Bock""".split()
_TER = ["Beek", "Velde", "Kate", "Bokkel", "Voorde", "Morsche", "Mors", "Steege", "Maat", "Veen"]


_MODIFIERS = """Groot Klein Nieuw Oude Hooge Lage Wester Ooster Noord Zuid Middel Achter Olde Boven""".split()
_COMMON_SUFFIXES = """huis man ink kamp hof horst veld berg dijk broek beek land""".split()


def _tail_names() -> list[tuple[str, str]]:
    names: list[tuple[str, str]] = []
    for stem in _STEMS:
        for suf in _SUFFIXES:
            if stem.lower().endswith(suf[:2]) or suf.startswith(stem.lower()):
                continue
            names.append(("", stem + suf))
    # three-part names: Nieuwenkamp-style compounds (modifier + stem + suffix)
    for mod in _MODIFIERS:
        for stem in _STEMS:
            for suf in _COMMON_SUFFIXES:
                if stem.lower().endswith(suf[:2]) or suf.startswith(stem.lower()) or mod.lower() == stem.lower():
                    continue
                names.append(("", mod + stem.lower() + suf))
    names += [("van", p) for p in _VAN_PLACES]
    names += [("van der", p) for p in _VAN_DER]
    names += [("van den", p) for p in _VAN_DEN]
    names += [("van de", p) for p in _VAN_DE]
    names += [("de", p) for p in _DE]
    names += [(t, p) for t in ("ter", "ten", "te") for p in _TER]
    names += [("van", s + "en") for s in ("Kamp", "Hov", "Dal", "Broek", "Dijk", "Wolt", "Beek")]
    names += [("den", s) for s in ("Hartog", "Ouden", "Boer", "Hollander", "Besten")]
    names += [("der", s) for s in ("Kinderen", "Weduwen")]
    names += [("van 't", s) for s in ("Zand", "Veer", "Wout", "Klooster")]
    names += [("in de", s) for s in ("Betou", "Braekt")]
    seen: set[tuple[str, str]] = set()
    out = []
    for n in names:
        if n not in seen:
            seen.add(n)
            out.append(n)
    return out


def dutch_surname_table() -> tuple[list[tuple[str, str]], np.ndarray]:
    """Dutch surnames with sampling weights: common names, Twente names, generated tail.

    About 22% of the mass goes to the common names (by their counts), 10% to the Twente list
    and the rest to a long Zipf tail of about 12,000 generated Dutch-sounding names
    (stem + suffix, modifier + stem + suffix, particle + place name), in a fixed
    (seed-independent) order.
    """
    common = [(p, s) for p, s, _ in _COMMON_NL]
    counts = np.array([c for _, _, c in _COMMON_NL], dtype=float)
    twente = list(_TWENTE)
    tail = _tail_names()
    # A fixed pseudo-random rank order for the tail, independent of the caller's seed.
    order = np.random.default_rng(20240601).permutation(len(tail))
    tail = [tail[i] for i in order]
    names: list[tuple[str, str]] = []
    weights: list[np.ndarray] = []
    seen: set[tuple[str, str]] = set()
    for group, w, mass in (
        (common, counts / counts.sum(), 0.22),
        (twente, zipf_weights(len(twente), 0.8, 6.0), 0.10),
        (tail, zipf_weights(len(tail), 0.8, 50.0), 0.68),
    ):
        keep = [i for i, n in enumerate(group) if n not in seen]
        for i in keep:
            seen.add(group[i])
        names += [group[i] for i in keep]
        weights.append(w[keep] * mass)
    wv = np.concatenate(weights)
    return names, wv / wv.sum()
