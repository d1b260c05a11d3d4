"""Literature and art facts: authors, painters, composers, characters."""

AUTHORS = """
Romeo and Juliet | William Shakespeare; Shakespeare
Hamlet | William Shakespeare; Shakespeare
Macbeth | William Shakespeare; Shakespeare
Pride and Prejudice | Jane Austen; Austen
Emma | Jane Austen; Austen
Nineteen Eighty-Four | George Orwell; Orwell; Eric Arthur Blair
Animal Farm | George Orwell; Orwell
War and Peace | Leo Tolstoy; Tolstoy; Lev Tolstoy
Anna Karenina | Leo Tolstoy; Tolstoy; Lev Tolstoy
Crime and Punishment | Fyodor Dostoevsky; Dostoevsky; Dostoyevsky
The Brothers Karamazov | Fyodor Dostoevsky; Dostoevsky; Dostoyevsky
Don Quixote | Miguel de Cervantes; Cervantes
Moby-Dick | Herman Melville; Melville
The Adventures of Tom Sawyer | Mark Twain; Twain; Samuel Clemens
Adventures of Huckleberry Finn | Mark Twain; Twain; Samuel Clemens
Oliver Twist | Charles Dickens; Dickens
A Christmas Carol | Charles Dickens; Dickens
Great Expectations | Charles Dickens; Dickens
Jane Eyre | Charlotte Bronte; Charlotte Brontë; Bronte; Brontë
Wuthering Heights | Emily Bronte; Emily Brontë; Bronte; Brontë
Frankenstein | Mary Shelley; Shelley; Mary Wollstonecraft Shelley
Dracula | Bram Stoker; Stoker
The Great Gatsby | F. Scott Fitzgerald; Scott Fitzgerald; Fitzgerald
To Kill a Mockingbird | Harper Lee; Lee
The Old Man and the Sea | Ernest Hemingway; Hemingway
The Catcher in the Rye | J. D. Salinger; J.D. Salinger; Salinger
The Hobbit | J. R. R. Tolkien; J.R.R. Tolkien; Tolkien
The Lord of the Rings | J. R. R. Tolkien; J.R.R. Tolkien; Tolkien
Harry Potter and the Philosopher's Stone | J. K. Rowling; J.K. Rowling; Rowling
Alice's Adventures in Wonderland | Lewis Carroll; Carroll; Charles Dodgson
The Odyssey | Homer
The Iliad | Homer
The Divine Comedy | Dante Alighieri; Dante
Les Miserables | Victor Hugo; Hugo
The Hunchback of Notre-Dame | Victor Hugo; Hugo
The Three Musketeers | Alexandre Dumas; Dumas
Madame Bovary | Gustave Flaubert; Flaubert
The Metamorphosis | Franz Kafka; Kafka
One Hundred Years of Solitude | Gabriel Garcia Marquez; Gabriel García Márquez; Garcia Marquez; García Márquez; Marquez
The Little Prince | Antoine de Saint-Exupery; Antoine de Saint-Exupéry; Saint-Exupery; Saint-Exupéry
Brave New World | Aldous Huxley; Huxley
Fahrenheit 451 | Ray Bradbury; Bradbury
The Grapes of Wrath | John Steinbeck; Steinbeck
Of Mice and Men | John Steinbeck; Steinbeck
Treasure Island | Robert Louis Stevenson; Stevenson; R. L. Stevenson
The Jungle Book | Rudyard Kipling; Kipling
Gulliver's Travels | Jonathan Swift; Swift
Robinson Crusoe | Daniel Defoe; Defoe
The Picture of Dorian Gray | Oscar Wilde; Wilde
Ulysses | James Joyce; Joyce
Faust | Johann Wolfgang von Goethe; Goethe
The Canterbury Tales | Geoffrey Chaucer; Chaucer
Paradise Lost | John Milton; Milton
The Raven | Edgar Allan Poe; Poe
Lolita | Vladimir Nabokov; Nabokov
Twenty Thousand Leagues Under the Seas | Jules Verne; Verne
Around the World in Eighty Days | Jules Verne; Verne
The Time Machine | H. G. Wells; H.G. Wells; Wells
The War of the Worlds | H. G. Wells; H.G. Wells; Wells
Charlie and the Chocolate Factory | Roald Dahl; Dahl
Murder on the Orient Express | Agatha Christie; Christie
The Da Vinci Code | Dan Brown; Brown
"""

PAINTERS = """
the Mona Lisa | Leonardo da Vinci; Leonardo; da Vinci
The Last Supper | Leonardo da Vinci; Leonardo; da Vinci
The Starry Night | Vincent van Gogh; van Gogh; Van Gogh
Sunflowers | Vincent van Gogh; van Gogh
Guernica | Pablo Picasso; Picasso
The Persistence of Memory | Salvador Dali; Salvador Dalí; Dali; Dalí
The Scream | Edvard Munch; Munch
The Birth of Venus | Sandro Botticelli; Botticelli
Girl with a Pearl Earring | Johannes Vermeer; Vermeer; Jan Vermeer
The Night Watch | Rembrandt; Rembrandt van Rijn
The Creation of Adam | Michelangelo; Michelangelo Buonarroti
Water Lilies | Claude Monet; Monet
Impression, Sunrise | Claude Monet; Monet
The Kiss | Gustav Klimt; Klimt
American Gothic | Grant Wood; Wood
The Great Wave off Kanagawa | Hokusai; Katsushika Hokusai
Campbell's Soup Cans | Andy Warhol; Warhol
The School of Athens | Raphael; Raffaello Sanzio
"""

COMPOSERS = """
The Magic Flute | Wolfgang Amadeus Mozart; Mozart
Symphony No. 9 known as the Choral Symphony | Ludwig van Beethoven; Beethoven
Fur Elise | Ludwig van Beethoven; Beethoven
The Four Seasons | Antonio Vivaldi; Vivaldi
Swan Lake | Pyotr Ilyich Tchaikovsky; Tchaikovsky; Tchaikovski
The Nutcracker | Pyotr Ilyich Tchaikovsky; Tchaikovsky
The Brandenburg Concertos | Johann Sebastian Bach; Bach; J. S. Bach
Messiah | George Frideric Handel; Handel; Händel
Bolero | Maurice Ravel; Ravel
The Blue Danube | Johann Strauss II; Johann Strauss; Strauss
Clair de Lune | Claude Debussy; Debussy
Carmen | Georges Bizet; Bizet
La Traviata | Giuseppe Verdi; Verdi
The Rite of Spring | Igor Stravinsky; Stravinsky
Rhapsody in Blue | George Gershwin; Gershwin
"""

FACTS = """
Who is the detective created by [Arthur Conan Doyle]? | Sherlock Holmes; Sherlock; Holmes
What is the name of the wizard school in [Harry Potter]? | Hogwarts
In [Moby-Dick], what is the name of the ship's captain? | Ahab; Captain Ahab
In which city is [Romeo and Juliet] set? | Verona
Who is the author of the [Sherlock Holmes] stories? | Arthur Conan Doyle; Conan Doyle; Doyle
What is the name of the hobbit who carries the ring in [The Lord of the Rings]? | Frodo; Frodo Baggins
Which museum in Paris houses the [Mona Lisa]? | Louvre; the Louvre; Louvre Museum
Who sculpted the statue of [David] in Florence? | Michelangelo
Which ancient Greek poet is credited with [the Iliad] and the Odyssey? | Homer
What nationality was the painter [Frida Kahlo]? | Mexican; Mexico
What nationality was the composer [Frederic Chopin]? | Polish; Poland
What instrument did [Jimi Hendrix] famously play? | guitar; electric guitar
Which band recorded the album [Abbey Road]? | The Beatles; Beatles
Who wrote the play [Waiting for Godot]? | Samuel Beckett; Beckett
Who wrote the play [A Streetcar Named Desire]? | Tennessee Williams; Williams
Who wrote the play [Death of a Salesman]? | Arthur Miller; Miller
Who wrote the poem [The Road Not Taken]? | Robert Frost; Frost
In which country was the painter [Vincent van Gogh] born? | Netherlands; Holland; the Netherlands
Which art movement is [Claude Monet] associated with? | Impressionism; impressionist; impressionists
Which art movement is [Salvador Dali] associated with? | Surrealism; surrealist
Which art movement is [Pablo Picasso] famous for co-founding? | Cubism; cubist
What is the name of the fairy in [Peter Pan]? | Tinker Bell; Tinkerbell
What is the name of the boy wizard created by [J. K. Rowling]? | Harry Potter; Harry
What kind of animal is [Moby Dick] in the novel? | whale; sperm whale; white whale
What is the name of Don Quixote's squire in [Don Quixote]? | Sancho Panza; Sancho
Who wrote the fairy tale [The Little Mermaid]? | Hans Christian Andersen; Andersen
Which brothers collected the fairy tale [Hansel and Gretel]? | Brothers Grimm; Grimm; the Grimms
What is the pen name of the writer [Samuel Clemens]? | Mark Twain; Twain
What is the pen name of the writer [Eric Arthur Blair]? | George Orwell; Orwell
"""

TEMPLATES = [
    ("Who wrote {e}?", AUTHORS),
    ("Who painted {e}?", PAINTERS),
    ("Who composed {e}?", COMPOSERS),
]
