"""Facts curated by hand for the ``wide`` benchmark (long-tail: less popular facts).

Same table format as :mod:`nescio.data.facts`: ``left | alias; alias``. Each row was
checked against a reference work when it was written.
"""

# kind | subdivision | capital  (capitals of US states, Canadian provinces and territories,
# Australian states and the Northern Territory)
SUBDIVISIONS = """
US state | Alabama | Montgomery
US state | Alaska | Juneau
US state | Arizona | Phoenix
US state | Arkansas | Little Rock
US state | California | Sacramento
US state | Colorado | Denver
US state | Connecticut | Hartford
US state | Delaware | Dover
US state | Florida | Tallahassee
US state | Georgia | Atlanta
US state | Hawaii | Honolulu
US state | Idaho | Boise
US state | Illinois | Springfield
US state | Indiana | Indianapolis
US state | Iowa | Des Moines
US state | Kansas | Topeka
US state | Kentucky | Frankfort
US state | Louisiana | Baton Rouge
US state | Maine | Augusta
US state | Maryland | Annapolis
US state | Massachusetts | Boston
US state | Michigan | Lansing
US state | Minnesota | Saint Paul; St. Paul; St Paul
US state | Mississippi | Jackson
US state | Missouri | Jefferson City
US state | Montana | Helena
US state | Nebraska | Lincoln
US state | Nevada | Carson City
US state | New Hampshire | Concord
US state | New Jersey | Trenton
US state | New Mexico | Santa Fe
US state | New York | Albany
US state | North Carolina | Raleigh
US state | North Dakota | Bismarck
US state | Ohio | Columbus
US state | Oklahoma | Oklahoma City
US state | Oregon | Salem
US state | Pennsylvania | Harrisburg
US state | Rhode Island | Providence
US state | South Carolina | Columbia
US state | South Dakota | Pierre
US state | Tennessee | Nashville
US state | Texas | Austin
US state | Utah | Salt Lake City
US state | Vermont | Montpelier
US state | Virginia | Richmond
US state | Washington | Olympia
US state | West Virginia | Charleston
US state | Wisconsin | Madison
US state | Wyoming | Cheyenne
Canadian province | Alberta | Edmonton
Canadian province | British Columbia | Victoria
Canadian province | Manitoba | Winnipeg
Canadian province | New Brunswick | Fredericton
Canadian province | Newfoundland and Labrador | St. John's; Saint John's; St John's
Canadian province | Nova Scotia | Halifax
Canadian province | Ontario | Toronto
Canadian province | Prince Edward Island | Charlottetown
Canadian province | Quebec | Quebec City; Québec City; Quebec
Canadian province | Saskatchewan | Regina
Canadian territory | Yukon | Whitehorse
Canadian territory | Nunavut | Iqaluit
Canadian territory | the Northwest Territories | Yellowknife
Australian state | New South Wales | Sydney
Australian state | Victoria | Melbourne
Australian state | Queensland | Brisbane
Australian state | South Australia | Adelaide
Australian state | Western Australia | Perth
Australian state | Tasmania | Hobart
Australian territory | the Northern Territory | Darwin
"""

# work | author aliases: less popular works than the built-in AUTHORS table (popularity "tail")
MINOR_WORKS = """
The Tin Drum | Günter Grass; Gunter Grass; Grass
Pedro Páramo | Juan Rulfo; Rulfo
The Master and Margarita | Mikhail Bulgakov; Bulgakov
Things Fall Apart | Chinua Achebe; Achebe
The Leopard | Giuseppe Tomasi di Lampedusa; Lampedusa; Tomasi di Lampedusa
Kristin Lavransdatter | Sigrid Undset; Undset
The Man Without Qualities | Robert Musil; Musil
Independent People | Halldór Laxness; Halldor Laxness; Laxness
Season of Migration to the North | Tayeb Salih; Salih
The Good Soldier Švejk | Jaroslav Hašek; Jaroslav Hasek; Hašek; Hasek
Dead Souls | Nikolai Gogol; Gogol
Oblomov | Ivan Goncharov; Goncharov
Fathers and Sons | Ivan Turgenev; Turgenev
The Radetzky March | Joseph Roth; Roth
Buddenbrooks | Thomas Mann; Mann
The Magic Mountain | Thomas Mann; Mann
The Glass Bead Game | Hermann Hesse; Hesse
Steppenwolf | Hermann Hesse; Hesse
Siddhartha | Hermann Hesse; Hesse
The Name of the Rose | Umberto Eco; Eco
Invisible Cities | Italo Calvino; Calvino
Ficciones | Jorge Luis Borges; Borges
The Tale of Genji | Murasaki Shikibu; Lady Murasaki; Murasaki
Snow Country | Yasunari Kawabata; Kawabata
The Makioka Sisters | Jun'ichirō Tanizaki; Junichiro Tanizaki; Tanizaki
Kokoro | Natsume Sōseki; Natsume Soseki; Soseki; Sōseki
Dream of the Red Chamber | Cao Xueqin
Gitanjali | Rabindranath Tagore; Tagore
The God of Small Things | Arundhati Roy; Roy
Midnight's Children | Salman Rushdie; Rushdie
Wide Sargasso Sea | Jean Rhys; Rhys
Cold Comfort Farm | Stella Gibbons; Gibbons
Nostromo | Joseph Conrad; Conrad
Middlemarch | George Eliot; Eliot; Mary Ann Evans
Silas Marner | George Eliot; Eliot; Mary Ann Evans
The Mill on the Floss | George Eliot; Eliot; Mary Ann Evans
Tristram Shandy | Laurence Sterne; Sterne
The Moonstone | Wilkie Collins; Collins
Germinal | Émile Zola; Emile Zola; Zola
Thérèse Raquin | Émile Zola; Emile Zola; Zola
The Red and the Black | Stendhal; Marie-Henri Beyle
The Charterhouse of Parma | Stendhal; Marie-Henri Beyle
Effi Briest | Theodor Fontane; Fontane
Woyzeck | Georg Büchner; Georg Buchner; Büchner; Buchner
Peer Gynt | Henrik Ibsen; Ibsen
Miss Julie | August Strindberg; Strindberg
The Cherry Orchard | Anton Chekhov; Chekhov
Under the Volcano | Malcolm Lowry; Lowry
Their Eyes Were Watching God | Zora Neale Hurston; Hurston
Giovanni's Room | James Baldwin; Baldwin
The Sorrows of Young Werther | Johann Wolfgang von Goethe; Goethe
Candide | Voltaire; François-Marie Arouet
The Decameron | Giovanni Boccaccio; Boccaccio
Eugene Onegin | Alexander Pushkin; Pushkin
A Hero of Our Time | Mikhail Lermontov; Lermontov
The Betrothed | Alessandro Manzoni; Manzoni
Doña Bárbara | Rómulo Gallegos; Romulo Gallegos; Gallegos
Quo Vadis | Henryk Sienkiewicz; Sienkiewicz
Pan Tadeusz | Adam Mickiewicz; Mickiewicz
Les Liaisons dangereuses | Pierre Choderlos de Laclos; Choderlos de Laclos; Laclos
Ivanhoe | Walter Scott; Sir Walter Scott; Scott
The Vicar of Wakefield | Oliver Goldsmith; Goldsmith
Cranford | Elizabeth Gaskell; Gaskell
The Tenant of Wildfell Hall | Anne Brontë; Anne Bronte
Agnes Grey | Anne Brontë; Anne Bronte
Villette | Charlotte Brontë; Charlotte Bronte
Ethan Frome | Edith Wharton; Wharton
The Age of Innocence | Edith Wharton; Wharton
My Ántonia | Willa Cather; Cather
Babbitt | Sinclair Lewis; Lewis
The Good Earth | Pearl S. Buck; Pearl Buck; Buck
Native Son | Richard Wright; Wright
Invisible Man | Ralph Ellison; Ellison
A Passage to India | E. M. Forster; E.M. Forster; Forster
Howards End | E. M. Forster; E.M. Forster; Forster
The Remains of the Day | Kazuo Ishiguro; Ishiguro
Wolf Hall | Hilary Mantel; Mantel
The English Patient | Michael Ondaatje; Ondaatje
Life of Pi | Yann Martel; Martel
The Color Purple | Alice Walker; Walker
Blood Meridian | Cormac McCarthy; McCarthy
Infinite Jest | David Foster Wallace; Wallace
White Noise | Don DeLillo; DeLillo
The Bell Jar | Sylvia Plath; Plath
"""

# team sport | players per side on the field (or court, or ice) at one time
TEAM_SIZES = """
association football | 11; eleven
basketball | 5; five
volleyball | 6; six
beach volleyball | 2; two
ice hockey | 6; six
rugby union | 15; fifteen
rugby league | 13; thirteen
baseball | 9; nine
water polo | 7; seven
netball | 7; seven
team handball | 7; seven
cricket | 11; eleven
field hockey | 11; eleven
American football | 11; eleven
Australian rules football | 18; eighteen
Gaelic football | 15; fifteen
hurling | 15; fifteen
polo | 4; four
curling | 4; four
korfball | 8; eight
kabaddi | 7; seven
ultimate frisbee | 7; seven
"""
