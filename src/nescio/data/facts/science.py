"""Science facts: chemistry, physics, astronomy, biology, earth science."""

SYMBOLS = """
oxygen | O
hydrogen | H
carbon | C
nitrogen | N
gold | Au
silver | Ag
iron | Fe
sodium | Na
potassium | K
copper | Cu
lead | Pb
mercury | Hg
tin | Sn
helium | He
calcium | Ca
chlorine | Cl
sulfur | S
zinc | Zn
uranium | U
neon | Ne
magnesium | Mg
phosphorus | P
tungsten | W
aluminium | Al
silicon | Si
"""

ATOMIC_NUMBERS = """
hydrogen | 1; one
helium | 2; two
carbon | 6; six
oxygen | 8; eight
nitrogen | 7; seven
iron | 26; twenty-six
gold | 79; seventy-nine
neon | 10; ten
sodium | 11; eleven
uranium | 92; ninety-two
"""

FACTS = """
What is the chemical formula of [water]? | H2O
What is the chemical formula of [table salt]? | NaCl
What gas do plants absorb from the air for [photosynthesis]? | carbon dioxide; CO2
What gas do humans need to breathe to [survive]? | oxygen; O2
Which planet is known as the [Red Planet]? | Mars
What is the largest planet in the [Solar System]? | Jupiter
Which planet is closest to the [Sun]? | Mercury
Which planet is famous for its prominent [rings]? | Saturn
What is the closest star to [Earth]? | Sun; the Sun
What is the name of Earth's natural [satellite]? | Moon; the Moon; Luna
Which planet is the hottest in the [Solar System]? | Venus
Which planet was reclassified as a dwarf planet in 2006, [Pluto] or Neptune? | Pluto
Which organ pumps blood through the [human body]? | heart
Which organ in the [human body] filters blood to make urine? | kidney; kidneys
What is the largest organ of the [human body]? | skin
What is the hardest natural substance on [Earth]? | diamond
How many bones are in the adult [human body]? | 206
What pigment makes [plants] green? | chlorophyll
What is the powerhouse of the [cell]? | mitochondria; mitochondrion
What molecule carries genetic information in most [living things]? | DNA; deoxyribonucleic acid
Who developed the theory of [general relativity]? | Albert Einstein; Einstein
Who formulated the laws of [motion and universal gravitation]? | Isaac Newton; Newton
Who proposed the theory of [evolution by natural selection]? | Charles Darwin; Darwin
Who discovered [penicillin]? | Alexander Fleming; Fleming
Who developed the first [polio vaccine] that was widely used? | Jonas Salk; Salk
Who is known for the [periodic table] of elements? | Dmitri Mendeleev; Mendeleev; Mendeleyev
Who discovered the elements [radium] and polonium? | Marie Curie; Curie; Marie and Pierre Curie
Who proposed the [heliocentric] model of the Solar System? | Nicolaus Copernicus; Copernicus
Who invented the [telephone]? | Alexander Graham Bell; Graham Bell; Bell
Who invented the [light bulb] that became commercially successful? | Thomas Edison; Edison
What is the speed of [light] in a vacuum in kilometres per second, approximately? | 300,000; 300000; 299,792; 299792; 3 x 10^5
What is the SI unit of [force]? | newton; N
What is the SI unit of [electric current]? | ampere; amp; A
What is the SI unit of [energy]? | joule; J
What is the SI unit of [power]? | watt; W
What is the SI unit of [electrical resistance]? | ohm
What is the SI unit of [frequency]? | hertz; Hz
What is the SI unit of [pressure]? | pascal; Pa
What is the SI unit of [temperature]? | kelvin; K
What particle has a [negative charge] in an atom? | electron
What particle has no charge in an [atomic nucleus]? | neutron
What is the most abundant gas in [Earth's atmosphere]? | nitrogen; N2
What is the [freezing point of water] in degrees Fahrenheit? | 32; thirty-two
What is the [boiling point of water] in degrees Celsius at sea level? | 100; one hundred; hundred
What type of animal is a [whale]? | mammal
What type of animal is a [frog]? | amphibian
What type of animal is a [snake]? | reptile
What is the largest [mammal] on Earth? | blue whale
What is the fastest [land animal]? | cheetah
What do [bees] make? | honey
What is the study of [earthquakes] called? | seismology
What is the study of [fungi] called? | mycology
What is the study of [birds] called? | ornithology
What scale measures the magnitude of [earthquakes]? | Richter; Richter scale; moment magnitude; moment magnitude scale
What is the pH of pure [water]? | 7; seven
What force keeps the [planets] in orbit around the Sun? | gravity; gravitation
What is the process by which plants make food using [sunlight]? | photosynthesis
What is the term for animals that eat only [plants]? | herbivores; herbivore
What gas makes up most of the [Sun]? | hydrogen
What blood cells carry [oxygen]? | red blood cells; red blood cell; erythrocytes
What is the name of the galaxy that contains the [Solar System]? | Milky Way; the Milky Way
Which vitamin does the skin produce in [sunlight]? | vitamin D; D
What is the main gas responsible for the [greenhouse effect] from burning fossil fuels? | carbon dioxide; CO2
Which scientist is famous for the equation [E = mc2]? | Albert Einstein; Einstein
What type of rock is formed from cooled [lava]? | igneous; igneous rock; basalt
What is the center of an [atom] called? | nucleus
How many chromosomes do [humans] normally have? | 46; forty-six; 23 pairs
What is the chemical formula of [ozone]? | O3
What is the common name of the compound [NaHCO3]? | baking soda; sodium bicarbonate; bicarbonate of soda
Which planet has the [Great Red Spot]? | Jupiter
Which planet is the farthest from the [Sun]? | Neptune
What is the name of the force that opposes [motion] between surfaces? | friction
What is the unit of [electric charge]? | coulomb; C
Who discovered the [electron]? | J. J. Thomson; J.J. Thomson; Thomson; Joseph John Thomson
Who first described the [laws of inheritance] using pea plants? | Gregor Mendel; Mendel
What is the hardest mineral on the [Mohs scale]? | diamond
What is the softest mineral on the [Mohs scale]? | talc
Which gas do we exhale as a waste product of [respiration]? | carbon dioxide; CO2
What is the name for a [baby kangaroo]? | joey
"""

TEMPLATES = [
    ("What is the chemical symbol for {e}?", SYMBOLS),
    ("What is the atomic number of {e}?", ATOMIC_NUMBERS),
]
