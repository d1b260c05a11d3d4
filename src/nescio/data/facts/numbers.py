"""Numbers and units: counts, conversions, constants, simple arithmetic facts."""

SIDES = """
a triangle | 3; three
a square | 4; four
a pentagon | 5; five
a hexagon | 6; six
a heptagon | 7; seven
an octagon | 8; eight
a nonagon | 9; nine
a decagon | 10; ten
a dodecagon | 12; twelve
"""

LEGS = """
a spider | 8; eight
an insect | 6; six
a dog | 4; four
a chicken | 2; two
an octopus | 8; eight
a horse | 4; four
an ant | 6; six
a crab | 10; ten
a starfish | 5; five
"""

FACTS = """
How many days are in a [leap year]? | 366; three hundred sixty-six
How many days are in a [week]? | 7; seven
How many hours are in a [day]? | 24; twenty-four
How many minutes are in an [hour]? | 60; sixty
How many seconds are in a [minute]? | 60; sixty
How many seconds are in an [hour]? | 3600; 3,600; three thousand six hundred
How many months are in a [year]? | 12; twelve
How many weeks are in a [year]? | 52; fifty-two
How many years are in a [century]? | 100; one hundred; hundred
How many years are in a [decade]? | 10; ten
How many years are in a [millennium]? | 1000; 1,000; one thousand; thousand
How many centimetres are in a [metre]? | 100; one hundred; hundred
How many millimetres are in a [centimetre]? | 10; ten
How many metres are in a [kilometre]? | 1000; 1,000; one thousand; thousand
How many grams are in a [kilogram]? | 1000; 1,000; one thousand; thousand
How many millilitres are in a [litre]? | 1000; 1,000; one thousand; thousand
How many inches are in a [foot]? | 12; twelve
How many feet are in a [yard]? | 3; three
How many ounces are in a [pound]? | 16; sixteen
How many centimetres are in an [inch], to two decimal places? | 2.54
How many kilometres are in a [mile], approximately? | 1.6; 1.61; 1.609
How many pounds are in a [kilogram], approximately? | 2.2; 2.20; 2.205
How many items are in a [dozen]? | 12; twelve
How many items are in a [gross]? | 144; one hundred forty-four
How many [cards] are in a standard deck without jokers? | 52; fifty-two
How many players are on a [soccer team] on the field? | 11; eleven
How many players are on a [basketball team] on the court? | 5; five
How many squares are on a [chessboard]? | 64; sixty-four
How many pieces does each player have at the start of a [chess] game? | 16; sixteen
How many keys does a standard [piano] have? | 88; eighty-eight
How many strings does a standard [guitar] have? | 6; six
How many strings does a [violin] have? | 4; four
How many [continents] are there? | 7; seven
How many [planets] are in the Solar System? | 8; eight
How many [states] are in the United States? | 50; fifty
How many [stripes] are on the flag of the United States? | 13; thirteen
How many [stars] are on the flag of the United States? | 50; fifty
How many [letters] are in the English alphabet? | 26; twenty-six
How many [teeth] does an adult human normally have? | 32; thirty-two
How many [hearts] does an octopus have? | 3; three
How many [rings] are on the Olympic flag? | 5; five
How many [colours] are in a rainbow? | 7; seven
How many [degrees] are in a right angle? | 90; ninety
How many [degrees] are in a full circle? | 360; three hundred sixty
How many degrees do the angles of a [triangle] add up to? | 180; one hundred eighty
What is the value of [pi] to two decimal places? | 3.14
What is the square root of [144]? | 12; twelve
What is the square root of [81]? | 9; nine
What is [12 squared]? | 144; one hundred forty-four
What is [7 times 8]? | 56; fifty-six
What is [15 plus 27]? | 42; forty-two
What is [100 divided by 4]? | 25; twenty-five
What is [2 to the power of 10]? | 1024; 1,024; one thousand twenty-four
What is [9 times 9]? | 81; eighty-one
What is [half of 50]? | 25; twenty-five
What is the Roman numeral [X] in ordinary numbers? | 10; ten
What is the Roman numeral [L] in ordinary numbers? | 50; fifty
What is the Roman numeral [C] in ordinary numbers? | 100; one hundred; hundred
What is the Roman numeral [M] in ordinary numbers? | 1000; 1,000; one thousand; thousand
At what temperature in Celsius does [water freeze]? | 0; zero
What is the normal human [body temperature] in degrees Celsius, approximately? | 37; thirty-seven
How many [bits] are in a byte? | 8; eight
How many [sides] does a stop sign have? | 8; eight
How many [years] does a silver wedding anniversary celebrate? | 25; twenty-five
How many [years] does a golden wedding anniversary celebrate? | 50; fifty
How many [zeros] are in one million? | 6; six
How many [lines] does a sonnet have? | 14; fourteen
How many [Olympic gold medals] did Michael Phelps win in total? | 23; twenty-three
How many [sides] does a cube have? | 6; six
How many [faces] does a tetrahedron have? | 4; four
How many [edges] does a cube have? | 12; twelve
How many [players] are on a rugby union team on the field? | 15; fifteen
How many [innings] are in a standard baseball game? | 9; nine
How many [holes] are played in a standard round of golf? | 18; eighteen
How many [points] is a touchdown worth in American football? | 6; six
How many [minutes] long is a standard soccer match, excluding stoppage time? | 90; ninety
How many [chambers] does the human heart have? | 4; four
How many [lungs] does a human have? | 2; two
How many [weeks] is a full-term human pregnancy, approximately? | 40; forty
"""

TEMPLATES = [
    ("How many sides does {e} have?", SIDES),
    ("How many legs does {e} have?", LEGS),
]
