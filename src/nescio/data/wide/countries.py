"""The 193 UN member states: facts vendored by benchmarks/wide_vendor.py (babel 2.19.0, countryinfo 1.0.1, periodictable 2.1.0), read by hand."""

# code | name | names a reverse question accepts | popularity | capital | continent | currency | official language | calling code | top-level domain | bordering codes  (; separates aliases, an empty cell = fact left out)
COUNTRIES = """
AF | Afghanistan | Afghanistan | head | Kabul | Asia | Afghan Afghani | Dari; Persian; Pashto | +93; 93 | .af; af | CN IR PK TJ TM UZ
AL | Albania | Albania | tail | Tirana | Europe | Albanian Lek | Albanian | +355; 355 | .al; al | GR ME MK
DZ | Algeria | Algeria | head | Algiers | Africa | Algerian Dinar | Arabic; Tamazight; Berber | +213; 213 | .dz; dz | LY MA ML MR NE TN
AD | Andorra | Andorra | tail | Andorra la Vella | Europe | Euro | Catalan | +376; 376 | .ad; ad | ES FR
AO | Angola | Angola | head | Luanda | Africa | Angolan Kwanza | Portuguese | +244; 244 | .ao; ao | CD CG NA ZM
AG | Antigua and Barbuda | Antigua and Barbuda | tail | Saint John's; St. John's | North America | East Caribbean Dollar | English |  | .ag; ag | 
AR | Argentina | Argentina | head | Buenos Aires | South America | Argentine Peso | Spanish | +54; 54 | .ar; ar | BO BR CL PY UY
AM | Armenia | Armenia | tail | Yerevan |  | Armenian Dram | Armenian | +374; 374 | .am; am | AZ GE IR TR
AU | Australia | Australia | head | Canberra | Australia; Oceania | Australian Dollar | English | +61; 61 | .au; au | 
AT | Austria | Austria | tail | Vienna | Europe | Euro | German | +43; 43 | .at; at | CH CZ DE HU IT LI SI SK
AZ | Azerbaijan | Azerbaijan | tail | Baku |  | Azerbaijani Manat | Azerbaijani; Azeri | +994; 994 | .az; az | AM GE IR RU TR
BS | the Bahamas | Bahamas | tail | Nassau | North America | Bahamian Dollar | English |  | .bs; bs | 
BH | Bahrain | Bahrain | tail | Manama | Asia | Bahraini Dinar | Arabic | +973; 973 | .bh; bh | 
BD | Bangladesh | Bangladesh | head | Dhaka | Asia | Bangladeshi Taka | Bengali; Bangla | +880; 880 | .bd; bd | IN MM
BB | Barbados | Barbados | tail | Bridgetown | North America | Barbadian Dollar | English |  | .bb; bb | 
BY | Belarus | Belarus | tail | Minsk | Europe | Belarusian Ruble | Russian; Belarusian | +375; 375 | .by; by | LT LV PL RU UA
BE | Belgium | Belgium | tail | Brussels | Europe | Euro | Dutch; French; German | +32; 32 | .be; be | DE FR LU NL
BZ | Belize | Belize | tail | Belmopan | North America; Central America | Belize Dollar | English | +501; 501 | .bz; bz | GT MX
BJ | Benin | Benin | tail | Porto-Novo | Africa | West African CFA Franc | French | +229; 229 | .bj; bj | BF NE NG TG
BT | Bhutan | Bhutan | tail | Thimphu | Asia | Indian Rupee; Bhutanese Ngultrum | Dzongkha | +975; 975 | .bt; bt | CN IN
BO | Bolivia | Bolivia | tail | Sucre; La Paz | South America | Bolivian Boliviano | Spanish; Quechua; Aymara | +591; 591 | .bo; bo | AR BR CL PE PY
BA | Bosnia and Herzegovina | Bosnia and Herzegovina | tail | Sarajevo | Europe | Bosnia and Herzegovina convertible mark; convertible mark | Bosnian; Croatian; Serbian | +387; 387 | .ba; ba | HR ME RS
BW | Botswana | Botswana | tail | Gaborone | Africa | Botswana pula; pula | English; Tswana; Setswana | +267; 267 | .bw; bw | NA ZA ZM ZW
BR | Brazil | Brazil | head | Brasília; Brasilia | South America | Brazilian Real | Portuguese | +55; 55 | .br; br | AR BO CO FR GY PE PY SR UY VE
BN | Brunei | Brunei | tail | Bandar Seri Begawan | Asia | Brunei Dollar | Malay | +673; 673 | .bn; bn | MY
BG | Bulgaria | Bulgaria | tail | Sofia | Europe | euro; Bulgarian lev; lev | Bulgarian | +359; 359 | .bg; bg | GR MK RO RS TR
BF | Burkina Faso | Burkina Faso | tail | Ouagadougou | Africa | West African CFA Franc |  | +226; 226 | .bf; bf | BJ CI GH ML NE TG
BI | Burundi | Burundi | tail | Gitega; Bujumbura | Africa | Burundian Franc | Kirundi; Rundi; French; English | +257; 257 | .bi; bi | CD RW TZ
CV | Cape Verde | Cape Verde; Cabo Verde | tail | Praia | Africa | Cape Verdean Escudo | Portuguese | +238; 238 | .cv; cv | 
KH | Cambodia | Cambodia | tail | Phnom Penh | Asia | Cambodian Riel | Khmer | +855; 855 | .kh; kh | LA TH VN
CM | Cameroon | Cameroon | head | Yaoundé; Yaounde | Africa | Central African CFA Franc | French; English | +237; 237 | .cm; cm | CF CG GA GQ NG TD
CA | Canada | Canada | head | Ottawa | North America | Canadian Dollar | English; French |  | .ca; ca | US
CF | the Central African Republic | Central African Republic | tail | Bangui | Africa | Central African CFA Franc | Sango; French | +236; 236 | .cf; cf | CD CG CM SD SS TD
TD | Chad | Chad | tail | N'Djamena; Ndjamena | Africa | Central African CFA Franc | Arabic; French | +235; 235 | .td; td | CF CM LY NE NG SD
CL | Chile | Chile | tail | Santiago | South America | Chilean Peso | Spanish | +56; 56 | .cl; cl | AR BO PE
CN | China | China | head | Beijing; Peking | Asia | Chinese Yuan | Chinese; Mandarin; Standard Chinese | +86; 86 | .cn; cn | AF BT IN KG KP KZ LA MM MN NP PK RU TJ VN
CO | Colombia | Colombia | head | Bogotá; Bogota | South America | Colombian Peso | Spanish | +57; 57 | .co; co | BR EC PA PE VE
KM | the Comoros | Comoros | tail | Moroni | Africa | Comorian Franc | Comorian; Shikomori; Arabic; French | +269; 269 | .km; km | 
CG | the Republic of the Congo | Republic of the Congo; Congo-Brazzaville | tail | Brazzaville | Africa | Central African CFA Franc | French | +242; 242 | .cg; cg | AO CD CF CM GA
CD | the Democratic Republic of the Congo | Democratic Republic of the Congo; DR Congo; DRC; Congo-Kinshasa | head | Kinshasa | Africa | Congolese Franc | French | +243; 243 | .cd; cd | AO BI CF CG RW SS TZ UG ZM
CR | Costa Rica | Costa Rica | tail | San José; San Jose | North America; Central America | Costa Rican Colón | Spanish | +506; 506 | .cr; cr | NI PA
CI | Ivory Coast | Ivory Coast; Côte d'Ivoire; Cote d'Ivoire | head | Yamoussoukro | Africa | West African CFA Franc | French | +225; 225 | .ci; ci | BF GH GN LR ML
HR | Croatia | Croatia | tail | Zagreb | Europe | Euro | Croatian | +385; 385 | .hr; hr | BA HU ME RS SI
CU | Cuba | Cuba | tail | Havana | North America | Cuban Peso | Spanish | +53; 53 | .cu; cu | 
CY | Cyprus | Cyprus | tail | Nicosia |  | Euro | Greek; Turkish | +357; 357 | .cy; cy | 
CZ | the Czech Republic | Czech Republic; Czechia | tail | Prague | Europe | Czech Koruna | Czech | +420; 420 | .cz; cz | AT DE PL SK
DK | Denmark | Denmark | tail | Copenhagen | Europe | Danish Krone | Danish | +45; 45 | .dk; dk | DE
DJ | Djibouti | Djibouti | tail | Djibouti | Africa | Djiboutian Franc | French; Arabic | +253; 253 | .dj; dj | ER ET SO
DM | Dominica | Dominica | tail | Roseau | North America | East Caribbean Dollar | English |  | .dm; dm | 
DO | the Dominican Republic | Dominican Republic | tail | Santo Domingo | North America | Dominican Peso | Spanish |  | .do; do | HT
EC | Ecuador | Ecuador | tail | Quito | South America | US Dollar | Spanish; Quechua | +593; 593 | .ec; ec | CO PE
EG | Egypt | Egypt | head | Cairo |  | Egyptian Pound | Arabic | +20; 20 | .eg; eg | IL LY SD
SV | El Salvador | El Salvador | tail | San Salvador | North America; Central America | US Dollar | Spanish | +503; 503 | .sv; sv | GT HN
GQ | Equatorial Guinea | Equatorial Guinea | tail | Malabo | Africa | Central African CFA Franc | Spanish; French; Portuguese | +240; 240 | .gq; gq | CM GA
ER | Eritrea | Eritrea | tail | Asmara | Africa | Eritrean Nakfa | Tigrinya; Arabic; English | +291; 291 | .er; er | DJ ET SD
EE | Estonia | Estonia | tail | Tallinn | Europe | Euro | Estonian | +372; 372 | .ee; ee | LV RU
SZ | Eswatini | Eswatini; Swaziland | tail | Mbabane; Lobamba | Africa | Swazi Lilangeni | English; Swazi; siSwati; Swati | +268; 268 | .sz; sz | MZ ZA
ET | Ethiopia | Ethiopia | head | Addis Ababa | Africa | Ethiopian Birr | Amharic; Oromo; Afaan Oromo; Tigrinya; Somali; Afar | +251; 251 | .et; et | DJ ER KE SD SO SS
FJ | Fiji | Fiji | tail | Suva | Oceania | Fijian Dollar | English; Fiji Hindi; Fijian | +679; 679 | .fj; fj | 
FI | Finland | Finland | tail | Helsinki | Europe | Euro | Finnish; Swedish | +358; 358 | .fi; fi | NO RU SE
FR | France | France | head | Paris | Europe | Euro | French | +33; 33 | .fr; fr | AD BE BR CH DE ES IT LU MC NL SR
GA | Gabon | Gabon | tail | Libreville | Africa | Central African CFA Franc | French | +241; 241 | .ga; ga | CG CM GQ
GM | the Gambia | Gambia | tail | Banjul | Africa | Gambian Dalasi | English | +220; 220 | .gm; gm | SN
GE | Georgia | Georgia | tail | Tbilisi |  | Georgian Lari | Georgian | +995; 995 | .ge; ge | AM AZ RU TR
DE | Germany | Germany | head | Berlin | Europe | Euro | German | +49; 49 | .de; de | AT BE CH CZ DK FR LU NL PL
GH | Ghana | Ghana | head | Accra | Africa | Ghanaian Cedi | English | +233; 233 | .gh; gh | BF CI TG
GR | Greece | Greece | tail | Athens | Europe | Euro | Greek | +30; 30 | .gr; gr | AL BG MK TR
GD | Grenada | Grenada | tail | St. George's; Saint George's | North America | East Caribbean Dollar | English |  | .gd; gd | 
GT | Guatemala | Guatemala | tail | Guatemala City | North America; Central America | Guatemalan Quetzal | Spanish | +502; 502 | .gt; gt | BZ HN MX SV
GN | Guinea | Guinea | tail | Conakry | Africa | Guinean Franc | French | +224; 224 | .gn; gn | CI GW LR ML SL SN
GW | Guinea-Bissau | Guinea-Bissau | tail | Bissau | Africa | West African CFA Franc | Portuguese | +245; 245 | .gw; gw | GN SN
GY | Guyana | Guyana | tail | Georgetown | South America | Guyanese dollar | English | +592; 592 | .gy; gy | BR SR VE
HT | Haiti | Haiti | tail | Port-au-Prince | North America | Haitian Gourde; US Dollar | Haitian Creole; French | +509; 509 | .ht; ht | DO
HN | Honduras | Honduras | tail | Tegucigalpa | North America; Central America | Honduran Lempira | Spanish | +504; 504 | .hn; hn | GT NI SV
HU | Hungary | Hungary | tail | Budapest | Europe | Hungarian Forint | Hungarian | +36; 36 | .hu; hu | AT HR RO RS SI SK UA
IS | Iceland | Iceland | tail | Reykjavík; Reykjavik | Europe | Icelandic Króna | Icelandic | +354; 354 | .is; is | 
IN | India | India | head | New Delhi | Asia | Indian Rupee | Hindi; English | +91; 91 | .in; in | BD BT CN LK MM NP PK
ID | Indonesia | Indonesia | head | Jakarta; Nusantara | Asia | Indonesian Rupiah | Indonesian | +62; 62 | .id; id | MY PG TL
IR | Iran | Iran | head | Tehran |  | Iranian Rial | Persian; Farsi | +98; 98 | .ir; ir | AF AM AZ IQ PK TM TR
IQ | Iraq | Iraq | head | Baghdad | Asia | Iraqi Dinar | Arabic; Kurdish | +964; 964 | .iq; iq | IR JO KW SA SY TR
IE | Ireland | Ireland | tail | Dublin | Europe | Euro | English; Irish | +353; 353 | .ie; ie | GB
IL | Israel | Israel | tail |  | Asia | Israeli New Shekel | Hebrew; Arabic | +972; 972 | .il; il | EG JO LB SY
IT | Italy | Italy | head | Rome | Europe | Euro | Italian | +39; 39 | .it; it | AT CH FR SI SM
JM | Jamaica | Jamaica | tail | Kingston | North America | Jamaican Dollar | English |  | .jm; jm | 
JP | Japan | Japan | head | Tokyo | Asia | Japanese Yen | Japanese | +81; 81 | .jp; jp | 
JO | Jordan | Jordan | tail | Amman | Asia | Jordanian Dinar | Arabic | +962; 962 | .jo; jo | IL IQ SA SY
KZ | Kazakhstan | Kazakhstan | tail | Astana; Nur-Sultan |  | Kazakhstani Tenge | Russian; Kazakh |  | .kz; kz | CN KG RU TM UZ
KE | Kenya | Kenya | head | Nairobi | Africa | Kenyan Shilling | Swahili; English | +254; 254 | .ke; ke | ET SO SS TZ UG
KI | Kiribati | Kiribati | tail | South Tarawa; Tarawa | Oceania | Australian Dollar | English; Gilbertese | +686; 686 | .ki; ki | 
KP | North Korea | North Korea; DPRK | head | Pyongyang | Asia | North Korean Won | Korean | +850; 850 | .kp; kp | CN KR RU
KR | South Korea | South Korea; Republic of Korea | head | Seoul | Asia | South Korean Won | Korean | +82; 82 | .kr; kr | KP
KW | Kuwait | Kuwait | tail | Kuwait City | Asia | Kuwaiti Dinar | Arabic | +965; 965 | .kw; kw | IQ SA
KG | Kyrgyzstan | Kyrgyzstan | tail | Bishkek | Asia | Kyrgyz Som | Kyrgyz; Russian | +996; 996 | .kg; kg | CN KZ TJ UZ
LA | Laos | Laos; Lao PDR | tail | Vientiane | Asia | Laotian Kip | Lao | +856; 856 | .la; la | CN KH MM TH VN
LV | Latvia | Latvia | tail | Riga | Europe | Euro | Latvian | +371; 371 | .lv; lv | BY EE LT RU
LB | Lebanon | Lebanon | tail | Beirut | Asia | Lebanese Pound | Arabic | +961; 961 | .lb; lb | IL SY
LS | Lesotho | Lesotho | tail | Maseru | Africa | South African Rand; Lesotho Loti | Southern Sotho; Sesotho; English | +266; 266 | .ls; ls | ZA
LR | Liberia | Liberia | tail | Monrovia | Africa | Liberian Dollar | English | +231; 231 | .lr; lr | CI GN SL
LY | Libya | Libya | tail | Tripoli | Africa | Libyan Dinar | Arabic | +218; 218 | .ly; ly | DZ EG NE SD TD TN
LI | Liechtenstein | Liechtenstein | tail | Vaduz | Europe | Swiss Franc | German | +423; 423 | .li; li | AT CH
LT | Lithuania | Lithuania | tail | Vilnius | Europe | Euro | Lithuanian | +370; 370 | .lt; lt | BY LV PL RU
LU | Luxembourg | Luxembourg | tail | Luxembourg | Europe | Euro | French; Luxembourgish; German | +352; 352 | .lu; lu | BE DE FR
MG | Madagascar | Madagascar | head | Antananarivo | Africa | Malagasy Ariary | Malagasy; French; English | +261; 261 | .mg; mg | 
MW | Malawi | Malawi | tail | Lilongwe | Africa | Malawian Kwacha | Chichewa; Nyanja; Chewa; English | +265; 265 | .mw; mw | MZ TZ ZM
MY | Malaysia | Malaysia | head | Kuala Lumpur | Asia | Malaysian Ringgit | Malay | +60; 60 | .my; my | BN ID TH
MV | the Maldives | Maldives | tail | Malé; Male | Asia | Maldivian Rufiyaa | Dhivehi; Divehi; Maldivian | +960; 960 | .mv; mv | 
ML | Mali | Mali | tail | Bamako | Africa | West African CFA Franc |  | +223; 223 | .ml; ml | BF CI DZ GN MR NE SN
MT | Malta | Malta | tail | Valletta | Europe | Euro | Maltese; English | +356; 356 | .mt; mt | 
MH | the Marshall Islands | Marshall Islands | tail | Majuro | Oceania | US Dollar | English; Marshallese | +692; 692 | .mh; mh | 
MR | Mauritania | Mauritania | tail | Nouakchott | Africa | Mauritanian Ouguiya | Arabic | +222; 222 | .mr; mr | DZ ML SN
MU | Mauritius | Mauritius | tail | Port Louis | Africa | Mauritian Rupee | French; English | +230; 230 | .mu; mu | 
MX | Mexico | Mexico | head | Mexico City | North America | Mexican Peso | Spanish | +52; 52 | .mx; mx | BZ GT US
FM | the Federated States of Micronesia | Federated States of Micronesia; Micronesia | tail | Palikir | Oceania | US Dollar | English | +691; 691 | .fm; fm | 
MD | Moldova | Moldova | tail | Chișinău; Chisinau | Europe | Moldovan Leu | Romanian; Moldovan | +373; 373 | .md; md | RO UA
MC | Monaco | Monaco | tail | Monaco | Europe | Euro | French | +377; 377 | .mc; mc | FR
MN | Mongolia | Mongolia | tail | Ulaanbaatar; Ulan Bator | Asia | Mongolian Tugrik | Mongolian | +976; 976 | .mn; mn | CN RU
ME | Montenegro | Montenegro | tail | Podgorica | Europe | Euro | Montenegrin | +382; 382 | .me; me | AL BA HR RS
MA | Morocco | Morocco | head | Rabat | Africa | Moroccan Dirham | Arabic; Tamazight; Berber | +212; 212 | .ma; ma | DZ ES
MZ | Mozambique | Mozambique | head | Maputo | Africa | Mozambican Metical | Portuguese | +258; 258 | .mz; mz | MW SZ TZ ZA ZM ZW
MM | Myanmar | Myanmar; Burma | head | Naypyidaw; Nay Pyi Taw; Naypyitaw | Asia | Myanmar Kyat | Burmese | +95; 95 | .mm; mm | BD CN IN LA TH
NA | Namibia | Namibia | tail | Windhoek | Africa | South African Rand; Namibian Dollar | English | +264; 264 | .na; na | AO BW ZA ZM
NR | Nauru | Nauru | tail |  | Oceania | Australian Dollar | Nauruan; English | +674; 674 | .nr; nr | 
NP | Nepal | Nepal | head | Kathmandu | Asia | Nepalese Rupee | Nepali | +977; 977 | .np; np | CN IN
NL | the Netherlands | Netherlands; Holland | tail | Amsterdam | Europe | Euro | Dutch; Frisian; West Frisian | +31; 31 | .nl; nl | BE DE FR
NZ | New Zealand | New Zealand | tail | Wellington | Oceania | New Zealand Dollar |  | +64; 64 | .nz; nz | 
NI | Nicaragua | Nicaragua | tail | Managua | North America; Central America | Nicaraguan Córdoba | Spanish | +505; 505 | .ni; ni | CR HN
NE | Niger | Niger | tail | Niamey | Africa | West African CFA Franc |  | +227; 227 | .ne; ne | BF BJ DZ LY ML NG TD
NG | Nigeria | Nigeria | head | Abuja | Africa | Nigerian Naira | English | +234; 234 | .ng; ng | BJ CM NE TD
MK | North Macedonia | North Macedonia; Macedonia | tail | Skopje | Europe | Macedonian Denar | Macedonian; Albanian | +389; 389 | .mk; mk | AL BG GR RS
NO | Norway | Norway | tail | Oslo | Europe | Norwegian Krone | Norwegian; Bokmål; Nynorsk | +47; 47 | .no; no | FI RU SE
OM | Oman | Oman | tail | Muscat | Asia | Omani Rial | Arabic | +968; 968 | .om; om | AE SA YE
PK | Pakistan | Pakistan | head | Islamabad | Asia | Pakistani Rupee | Urdu; English | +92; 92 | .pk; pk | AF CN IN IR
PW | Palau | Palau | tail | Ngerulmud | Oceania | US Dollar | Palauan; English | +680; 680 | .pw; pw | 
PA | Panama | Panama | tail | Panama City | North America; Central America | Panamanian Balboa; US Dollar | Spanish | +507; 507 | .pa; pa | CO CR
PG | Papua New Guinea | Papua New Guinea | tail | Port Moresby | Oceania | Papua New Guinean Kina | Tok Pisin; English; Hiri Motu | +675; 675 | .pg; pg | ID
PY | Paraguay | Paraguay | tail | Asunción; Asuncion | South America | Paraguayan Guarani | Guarani; Spanish | +595; 595 | .py; py | AR BO BR
PE | Peru | Peru | head | Lima | South America | Peruvian Sol | Spanish; Quechua; Aymara | +51; 51 | .pe; pe | BO BR CL CO EC
PH | the Philippines | Philippines | head | Manila | Asia | Philippine Peso | Filipino; Tagalog; English | +63; 63 | .ph; ph | 
PL | Poland | Poland | head | Warsaw | Europe | Polish Zloty | Polish | +48; 48 | .pl; pl | BY CZ DE LT RU SK UA
PT | Portugal | Portugal | tail | Lisbon | Europe | Euro | Portuguese; Mirandese | +351; 351 | .pt; pt | ES
QA | Qatar | Qatar | tail | Doha | Asia | Qatari Riyal | Arabic | +974; 974 | .qa; qa | SA
RO | Romania | Romania | tail | Bucharest | Europe | Romanian Leu | Romanian | +40; 40 | .ro; ro | BG HU MD RS UA
RU | Russia | Russia; Russian Federation | head | Moscow |  | Russian Ruble | Russian |  | .ru; ru | AZ BY CN EE FI GE KP KZ LT LV MN NO PL UA
RW | Rwanda | Rwanda | tail | Kigali | Africa | Rwandan Franc | Kinyarwanda; English; French; Swahili | +250; 250 | .rw; rw | BI CD TZ UG
KN | Saint Kitts and Nevis | Saint Kitts and Nevis; St Kitts and Nevis | tail | Basseterre | North America | East Caribbean Dollar | English |  | .kn; kn | 
LC | Saint Lucia | Saint Lucia; St Lucia | tail | Castries | North America | East Caribbean Dollar | English |  | .lc; lc | 
VC | Saint Vincent and the Grenadines | Saint Vincent and the Grenadines; St Vincent and the Grenadines | tail | Kingstown | North America | East Caribbean Dollar | English |  | .vc; vc | 
WS | Samoa | Samoa | tail | Apia | Oceania | Samoan Tala | Samoan; English | +685; 685 | .ws; ws | 
SM | San Marino | San Marino | tail | San Marino; City of San Marino | Europe | Euro | Italian | +378; 378 | .sm; sm | IT
ST | São Tomé and Príncipe | São Tomé and Príncipe; Sao Tome and Principe | tail | São Tomé; Sao Tome | Africa | São Tomé and Príncipe dobra; dobra | Portuguese | +239; 239 | .st; st | 
SA | Saudi Arabia | Saudi Arabia | head | Riyadh | Asia | Saudi Riyal | Arabic | +966; 966 | .sa; sa | AE IQ JO KW OM QA YE
SN | Senegal | Senegal | tail | Dakar | Africa | West African CFA Franc | French | +221; 221 | .sn; sn | GM GN GW ML MR
RS | Serbia | Serbia | tail | Belgrade | Europe | Serbian Dinar | Serbian | +381; 381 | .rs; rs | BA BG HR HU ME MK RO
SC | the Seychelles | Seychelles | tail | Victoria | Africa | Seychellois Rupee | Seychellois Creole; Creole; English; French | +248; 248 | .sc; sc | 
SL | Sierra Leone | Sierra Leone | tail | Freetown | Africa | Sierra Leonean Leone | English | +232; 232 | .sl; sl | GN LR
SG | Singapore | Singapore | tail | Singapore | Asia | Singapore Dollar | English; Chinese; Malay; Tamil | +65; 65 | .sg; sg | 
SK | Slovakia | Slovakia | tail | Bratislava | Europe | Euro | Slovak | +421; 421 | .sk; sk | AT CZ HU PL UA
SI | Slovenia | Slovenia | tail | Ljubljana | Europe | Euro | Slovenian; Slovene | +386; 386 | .si; si | AT HR HU IT
SB | the Solomon Islands | Solomon Islands | tail | Honiara | Oceania | Solomon Islands Dollar | English | +677; 677 | .sb; sb | 
SO | Somalia | Somalia | tail | Mogadishu | Africa | Somali Shilling | Somali; Arabic | +252; 252 | .so; so | DJ ET KE
ZA | South Africa | South Africa | head | Pretoria; Cape Town; Bloemfontein | Africa | South African Rand | English; Zulu; Xhosa; Afrikaans; Northern Sotho; Sepedi; Tswana; Setswana; Southern Sotho; Sesotho; Tsonga; Xitsonga; Swati; siSwati; Venda; Tshivenda; Ndebele; South African Sign Language | +27; 27 | .za; za | BW LS MZ NA SZ ZW
SS | South Sudan | South Sudan | tail | Juba | Africa | South Sudanese Pound | English | +211; 211 | .ss; ss | CD CF ET KE SD UG
ES | Spain | Spain | head | Madrid | Europe | Euro | Spanish; Castilian; Catalan; Basque; Galician | +34; 34 | .es; es | AD FR MA PT
LK | Sri Lanka | Sri Lanka | head | Sri Jayawardenepura Kotte; Kotte; Colombo | Asia | Sri Lankan Rupee | Sinhala; Tamil | +94; 94 | .lk; lk | IN
SD | Sudan | Sudan | head | Khartoum | Africa | Sudanese Pound | English; Arabic | +249; 249 | .sd; sd | CF EG ER ET LY SS TD
SR | Suriname | Suriname | tail | Paramaribo | South America | Surinamese Dollar | Dutch | +597; 597 | .sr; sr | BR FR GY
SE | Sweden | Sweden | tail | Stockholm | Europe | Swedish Krona | Swedish | +46; 46 | .se; se | FI NO
CH | Switzerland | Switzerland | tail | Bern | Europe | Swiss Franc | German; French; Italian; Romansh | +41; 41 | .ch; ch | AT DE FR IT LI
SY | Syria | Syria | head | Damascus | Asia | Syrian Pound | Arabic | +963; 963 | .sy; sy | IL IQ JO LB TR
TJ | Tajikistan | Tajikistan | tail | Dushanbe | Asia | Tajikistani Somoni | Tajik | +992; 992 | .tj; tj | AF CN KG UZ
TZ | Tanzania | Tanzania | head | Dodoma | Africa | Tanzanian Shilling | Swahili; English | +255; 255 | .tz; tz | BI CD KE MW MZ RW UG ZM
TH | Thailand | Thailand | head | Bangkok | Asia | Thai Baht | Thai | +66; 66 | .th; th | KH LA MM MY
TL | East Timor | East Timor; Timor-Leste | tail | Dili | Asia | US Dollar | Tetum; Portuguese | +670; 670 | .tl; tl | ID
TG | Togo | Togo | tail | Lomé; Lome | Africa | West African CFA Franc | French | +228; 228 | .tg; tg | BF BJ GH
TO | Tonga | Tonga | tail | Nuku'alofa; Nukualofa | Oceania | Tongan Paʻanga | Tongan; English | +676; 676 | .to; to | 
TT | Trinidad and Tobago | Trinidad and Tobago | tail | Port of Spain |  | Trinidad and Tobago dollar | English |  | .tt; tt | 
TN | Tunisia | Tunisia | tail | Tunis | Africa | Tunisian Dinar | Arabic | +216; 216 | .tn; tn | DZ LY
TR | Turkey | Turkey; Türkiye | head | Ankara |  | Turkish Lira | Turkish | +90; 90 | .tr; tr | AM AZ BG GE GR IQ IR SY
TM | Turkmenistan | Turkmenistan | tail | Ashgabat | Asia | Turkmenistani Manat | Turkmen | +993; 993 | .tm; tm | AF IR KZ UZ
TV | Tuvalu | Tuvalu | tail | Funafuti | Oceania | Australian Dollar | Tuvaluan; English | +688; 688 | .tv; tv | 
UG | Uganda | Uganda | head | Kampala | Africa | Ugandan Shilling | Swahili; English | +256; 256 | .ug; ug | CD KE RW SS TZ
UA | Ukraine | Ukraine | head | Kyiv; Kiev | Europe | Ukrainian Hryvnia | Ukrainian | +380; 380 | .ua; ua | BY HU MD PL RO RU SK
AE | the United Arab Emirates | United Arab Emirates; UAE | tail | Abu Dhabi | Asia | United Arab Emirates Dirham | Arabic | +971; 971 | .ae; ae | OM SA
GB | the United Kingdom | United Kingdom; UK; Britain; Great Britain | head | London | Europe | pound sterling; British pound; pound; sterling | English | +44; 44 | .uk; uk | IE
US | the United States | United States; USA; United States of America; America | head | Washington, D.C.; Washington | North America | US dollar; United States dollar; dollar | English |  | .us; us | CA MX
UY | Uruguay | Uruguay | tail | Montevideo | South America | Uruguayan Peso | Spanish | +598; 598 | .uy; uy | AR BR
UZ | Uzbekistan | Uzbekistan | head | Tashkent | Asia | Uzbekistani Som | Uzbek | +998; 998 | .uz; uz | AF KG KZ TJ TM
VU | Vanuatu | Vanuatu | tail | Port Vila | Oceania | Vanuatu Vatu | Bislama; English; French | +678; 678 | .vu; vu | 
VE | Venezuela | Venezuela | head | Caracas | South America | Venezuelan Bolívar | Spanish | +58; 58 | .ve; ve | BR CO GY
VN | Vietnam | Vietnam | head | Hanoi | Asia | Vietnamese Dong | Vietnamese | +84; 84 | .vn; vn | CN KH LA
YE | Yemen | Yemen | head | Sanaa; Sana'a | Asia | Yemeni Rial | Arabic | +967; 967 | .ye; ye | OM SA
ZM | Zambia | Zambia | tail | Lusaka | Africa | Zambian Kwacha | English | +260; 260 | .zm; zm | AO BW CD MW MZ NA TZ ZW
ZW | Zimbabwe | Zimbabwe | tail | Harare | Africa | Zimbabwe gold; ZiG; US dollar; United States dollar | English; Shona; Ndebele; North Ndebele | +263; 263 | .zw; zw | BW MZ ZA ZM
"""
