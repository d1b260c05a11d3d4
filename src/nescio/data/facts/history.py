"""History facts: dates of events, leaders, firsts."""

YEARS = """
the end of World War II | 1945
the start of World War I | 1914
the fall of the Berlin Wall | 1989
the first Moon landing by Apollo 11 | 1969
the sinking of the Titanic | 1912
the storming of the Bastille | 1789
the signing of the United States Declaration of Independence | 1776
Christopher Columbus's first voyage to the Americas | 1492
the Battle of Hastings | 1066
the dissolution of the Soviet Union | 1991
the start of World War II | 1939
the attack on Pearl Harbor | 1941
the assassination of John F. Kennedy | 1963
the Russian October Revolution | 1917
the Wall Street Crash that began the Great Depression | 1929
the Battle of Waterloo | 1815
the signing of Magna Carta | 1215
the launch of Sputnik 1 | 1957
the founding of the United Nations | 1945
Nelson Mandela's election as President of South Africa | 1994
the reunification of Germany | 1990
the September 11 attacks in the United States | 2001
the Chernobyl nuclear disaster | 1986
the first powered flight by the Wright brothers | 1903
the end of the American Civil War | 1865
the start of the American Civil War | 1861
the publication of Darwin's On the Origin of Species | 1859
the Great Fire of London | 1666
Martin Luther's Ninety-five Theses | 1517
the coronation of Charlemagne as emperor | 800
the execution of King Charles I of England | 1649
the Treaty of Versailles | 1919
the founding of the People's Republic of China | 1949
the independence of India from Britain | 1947
the Cuban Missile Crisis | 1962
the D-Day landings in Normandy | 1944
the atomic bombing of Hiroshima | 1945
the first ascent of Mount Everest by Hillary and Norgay | 1953
the Boston Tea Party | 1773
the abolition of slavery in the United States by the Thirteenth Amendment | 1865
the introduction of the euro as a currency for cash | 2002
the launch of the first iPhone | 2007
the Battle of Gettysburg | 1863
the Norman conquest of England | 1066
the fall of Constantinople to the Ottomans | 1453
the Treaty of Westphalia | 1648
the Brexit referendum in the United Kingdom | 2016
the eruption of Mount Vesuvius that destroyed Pompeii | 79
the first Olympic Games of the modern era | 1896
the Spanish flu pandemic outbreak | 1918
"""

FACTS = """
Who was the first President of [the United States]? | George Washington; Washington
Who was the President of the United States during [the American Civil War]? | Abraham Lincoln; Lincoln
Who was the first person to walk on [the Moon]? | Neil Armstrong; Armstrong
Who was the first human to travel into [space]? | Yuri Gagarin; Gagarin
Who was the British Prime Minister during most of [World War II]? | Winston Churchill; Churchill
Who was the leader of Nazi Germany during [World War II]? | Adolf Hitler; Hitler
Who was the first Emperor of [Rome]? | Augustus; Octavian; Caesar Augustus
Which French emperor was defeated at [Waterloo]? | Napoleon; Napoleon Bonaparte; Napoleon I
Who was the first female Prime Minister of [the United Kingdom]? | Margaret Thatcher; Thatcher
Who led the Indian independence movement with nonviolent resistance against [British rule]? | Mahatma Gandhi; Gandhi; Mohandas Gandhi
Who gave the "I Have a Dream" speech in [1963]? | Martin Luther King Jr.; Martin Luther King; MLK; King
Which ship carried the Pilgrims to America in [1620]? | Mayflower; the Mayflower
Who was the first Chancellor of [the German Empire]? | Otto von Bismarck; Bismarck
Which queen ruled England during the defeat of [the Spanish Armada]? | Elizabeth I; Elizabeth; Queen Elizabeth I
Who was the Soviet leader during [World War II]? | Joseph Stalin; Stalin
Who was the first President of [South Africa] elected in a fully democratic election? | Nelson Mandela; Mandela
Which empire built [Machu Picchu]? | Inca; Inca Empire; Incas
Which civilization built the [pyramids of Giza]? | ancient Egyptians; Egyptians; Egyptian; Egypt
Who was the Macedonian king who conquered [the Persian Empire]? | Alexander the Great; Alexander
Who was the first President of [the Soviet Union]? | Mikhail Gorbachev; Gorbachev
Who wrote [The Communist Manifesto] with Friedrich Engels? | Karl Marx; Marx
Which Roman leader was assassinated on the [Ides of March]? | Julius Caesar; Caesar
Who was the French queen executed during [the French Revolution]? | Marie Antoinette
Which country gifted the [Statue of Liberty] to the United States? | France
Who was the first woman to win a [Nobel Prize]? | Marie Curie; Curie
Which wall was built to keep out northern invaders of [China]? | Great Wall; Great Wall of China
Who was the Mongol leader who founded the [Mongol Empire]? | Genghis Khan; Chinggis Khan; Temujin
Which British monarch reigned from 1952 to [2022]? | Elizabeth II; Queen Elizabeth II; Elizabeth
Which US president issued the [Emancipation Proclamation]? | Abraham Lincoln; Lincoln
Who was the US president during [the Great Depression] and World War II? | Franklin D. Roosevelt; Franklin Roosevelt; FDR; Roosevelt
Which city was the capital of [the Byzantine Empire]? | Constantinople; Byzantium; Istanbul
Which explorer led the first expedition to [circumnavigate the globe]? | Ferdinand Magellan; Magellan
Who was the first European to reach India by sea around [the Cape of Good Hope]? | Vasco da Gama; da Gama
Who was the Egyptian queen allied with Mark Antony against [Octavian]? | Cleopatra; Cleopatra VII
Which dynasty built much of the [Forbidden City] in Beijing? | Ming; Ming dynasty
Who was the first US president to resign from office after [Watergate]? | Richard Nixon; Nixon
In which country did [the Meiji Restoration] happen? | Japan
Who was the Italian fascist dictator allied with Hitler in [World War II]? | Benito Mussolini; Mussolini
Who painted the ceiling of the [Sistine Chapel]? | Michelangelo
Who was the 16th President of [the United States]? | Abraham Lincoln; Lincoln
"""

TEMPLATES = [
    ("In what year was {e}?", YEARS),
]
