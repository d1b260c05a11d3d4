"""Geography facts: capitals, continents, currencies, landmarks, physical geography."""

CAPITALS = """
France | Paris
Germany | Berlin
Italy | Rome
Spain | Madrid
Japan | Tokyo
China | Beijing; Peking
Russia | Moscow
the United Kingdom | London
Egypt | Cairo
Canada | Ottawa
Australia | Canberra
Brazil | Brasilia; Brasília
Argentina | Buenos Aires
Mexico | Mexico City
India | New Delhi; Delhi
Greece | Athens
Portugal | Lisbon
the Netherlands | Amsterdam
Belgium | Brussels
Austria | Vienna
Switzerland | Bern; Berne
Sweden | Stockholm
Norway | Oslo
Denmark | Copenhagen
Finland | Helsinki
Poland | Warsaw
Ireland | Dublin
Turkey | Ankara
Iran | Tehran; Teheran
Iraq | Baghdad
Saudi Arabia | Riyadh
Kenya | Nairobi
Nigeria | Abuja
South Korea | Seoul
Thailand | Bangkok
Vietnam | Hanoi
Indonesia | Jakarta
the Philippines | Manila
Peru | Lima
Chile | Santiago
Colombia | Bogota; Bogotá
Venezuela | Caracas
Cuba | Havana
Hungary | Budapest
the Czech Republic | Prague
Romania | Bucharest
Bulgaria | Sofia
Ukraine | Kyiv; Kiev
Pakistan | Islamabad
Bangladesh | Dhaka; Dacca
Afghanistan | Kabul
Ethiopia | Addis Ababa
Morocco | Rabat
Algeria | Algiers
Ghana | Accra
New Zealand | Wellington
Mongolia | Ulaanbaatar; Ulan Bator
Nepal | Kathmandu
Iceland | Reykjavik; Reykjavík
Kazakhstan | Astana; Nur-Sultan
Uzbekistan | Tashkent
Ecuador | Quito
Uruguay | Montevideo
Paraguay | Asuncion; Asunción
Senegal | Dakar
Mali | Bamako
Myanmar | Naypyidaw; Nay Pyi Taw; Naypyitaw
Laos | Vientiane
Cambodia | Phnom Penh
Jordan | Amman
Lebanon | Beirut
Syria | Damascus
Libya | Tripoli
Tunisia | Tunis
Sudan | Khartoum
Zimbabwe | Harare
Zambia | Lusaka
Angola | Luanda
Mozambique | Maputo
Madagascar | Antananarivo
Latvia | Riga
Lithuania | Vilnius
Estonia | Tallinn
Belarus | Minsk
Croatia | Zagreb
Serbia | Belgrade
Slovakia | Bratislava
Slovenia | Ljubljana
Albania | Tirana
the country of Georgia | Tbilisi
Armenia | Yerevan
Azerbaijan | Baku
Kyrgyzstan | Bishkek
Tajikistan | Dushanbe
Turkmenistan | Ashgabat
Bhutan | Thimphu
Malaysia | Kuala Lumpur
Jamaica | Kingston
Honduras | Tegucigalpa
Nicaragua | Managua
Costa Rica | San Jose; San José
Fiji | Suva
Uganda | Kampala
Rwanda | Kigali
Qatar | Doha
"""

CONTINENTS = """
Kenya | Africa
Brazil | South America
Argentina | South America
Peru | South America
Japan | Asia
Thailand | Asia
Mongolia | Asia
Germany | Europe
Portugal | Europe
Norway | Europe
Egypt | Africa
Nigeria | Africa
Madagascar | Africa
Canada | North America
Mexico | North America
Australia | Australia; Oceania
Chile | South America
India | Asia
Morocco | Africa
Poland | Europe
"""

CURRENCIES = """
Japan | yen; Japanese yen
the United Kingdom | pound; pound sterling; sterling; British pound
India | rupee; Indian rupee
Russia | ruble; rouble; Russian ruble
China | yuan; renminbi; Chinese yuan
Mexico | peso; Mexican peso
Switzerland | franc; Swiss franc
South Korea | won; South Korean won
Brazil | real; Brazilian real
Poland | zloty; złoty; Polish zloty
Sweden | krona; Swedish krona
Turkey | lira; Turkish lira
South Africa | rand; South African rand
Israel | shekel; new shekel; Israeli shekel
Thailand | baht; Thai baht
the United States | dollar; US dollar; United States dollar
"""

LANGUAGES = """
Brazil | Portuguese
Mexico | Spanish
Egypt | Arabic
Austria | German
Argentina | Spanish
Iran | Persian; Farsi
Greece | Greek
Japan | Japanese
"""

FACTS = """
In which country is the [Eiffel Tower]? | France
In which country is the [Colosseum]? | Italy
In which country is the [Taj Mahal]? | India
In which country is [Machu Picchu]? | Peru
In which country are the [Pyramids of Giza]? | Egypt
In which city is the [Statue of Liberty]? | New York; New York City; NYC
In which city is [Big Ben]? | London
In which country is [Angkor Wat]? | Cambodia
In which city is the [Sydney Opera House]? | Sydney
In which country is [Petra]? | Jordan
In which city is the [Kremlin]? | Moscow
In which country is [Stonehenge]? | England; United Kingdom; UK; Britain
In which city is the [Acropolis]? | Athens
In which city is the [Brandenburg Gate]? | Berlin
What is the longest river in [Africa]? | Nile; River Nile
What is the largest ocean on [Earth]? | Pacific; Pacific Ocean
What is the highest mountain in [the world]? | Mount Everest; Everest
What is the largest hot desert in [the world]? | Sahara; Sahara Desert
What is the largest country in [the world] by area? | Russia
What is the smallest country in [the world] by area? | Vatican City; Vatican; Holy See
What is the most populous city in [Japan]? | Tokyo
Which river flows through [Paris]? | Seine; River Seine
Which river flows through [London]? | Thames; River Thames
Which river flows through [Cairo]? | Nile
Which river flows through [Vienna] and Budapest? | Danube
Which ocean lies between [Africa] and Australia? | Indian Ocean; Indian
Which ocean lies between [Europe] and North America? | Atlantic; Atlantic Ocean
What is the largest island in [the world]? | Greenland
Which mountain range separates [Europe] from Asia? | Ural Mountains; Urals; Ural
In which mountain range is [Mont Blanc]? | Alps
On which continent is the [Sahara Desert]? | Africa
Which country has the largest population in [South America]? | Brazil
What is the longest river in [South America]? | Amazon; Amazon River
What is the largest lake in [Africa]? | Lake Victoria; Victoria
Which sea lies between [Europe] and Africa? | Mediterranean; Mediterranean Sea
Which strait separates [Spain] from Morocco? | Strait of Gibraltar; Gibraltar
On which island is [Honolulu]? | Oahu; O'ahu
Which US state is [Miami] in? | Florida
Which US state is [Chicago] in? | Illinois
Which US state is [Seattle] in? | Washington
Which Australian state is [Melbourne] in? | Victoria
What is the capital of the US state of [California]? | Sacramento
What is the capital of the US state of [Texas]? | Austin
What is the capital of the US state of [New York]? | Albany
What is the largest state of [the United States] by area? | Alaska
Which country is [Mount Kilimanjaro] in? | Tanzania
Which country is the island of [Sicily] part of? | Italy
Which country is [Greenland] an autonomous territory of? | Denmark
Which country does the island of [Corsica] belong to? | France
What is the deepest ocean trench on [Earth]? | Mariana Trench; Marianas Trench; Mariana
What is the capital of the Canadian province of [Quebec]? | Quebec City; Québec City
Which desert covers much of southern [Mongolia] and northern China? | Gobi; Gobi Desert
Which country has the city of [Marrakesh]? | Morocco
Which country has the city of [Istanbul]? | Turkey; Türkiye
Which country is [Lake Titicaca] shared by with Bolivia? | Peru
"""

TEMPLATES = [
    ("What is the capital of {e}?", CAPITALS),
    ("On which continent is {e}?", CONTINENTS),
    ("What is the currency of {e}?", CURRENCIES),
    ("What is the official language of {e}?", LANGUAGES),
]
