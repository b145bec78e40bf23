from mail.html import html_to_text, sanitise_html


def test_scripts_styles_and_active_content_are_removed():
    html = (
        "<html><head><style>p{color:red}</style><script>alert(1)</script></head>"
        '<body onload="steal()"><p onclick="x()">Bonjour</p>'
        '<iframe src="https://evil.example"></iframe><object data="x.swf"></object>'
        '<form action="https://evil.example"><input name="password"></form></body></html>'
    )
    clean = sanitise_html(html)
    assert "Bonjour" in clean
    for forbidden in ("<script", "alert", "<style", "<iframe", "<object", "<form", "<input", "onload", "onclick"):
        assert forbidden not in clean


def test_event_handlers_and_javascript_urls():
    clean = sanitise_html(
        '<img src="cid:logo" onerror="alert(1)"><a href="javascript:alert(1)">x</a>'
        '<a href="JaVaScRiPt:alert(1)">y</a><a href="data:text/html,<script>1</script>">z</a>'
    )
    assert "onerror" not in clean
    assert "javascript" not in clean.lower()
    assert "data:text" not in clean


def test_remote_images_are_not_loaded_but_cid_images_are_kept():
    clean = sanitise_html('<img src="https://tracker.example/pixel.gif" alt="p"><img src="cid:image001@01D0">')
    assert 'data-remote-src="https://tracker.example/pixel.gif"' in clean
    assert ' src="https://' not in clean
    assert 'src="cid:image001@01D0"' in clean


def test_links_get_safe_rel():
    clean = sanitise_html('<a href="https://www.service-public.fr/">lien</a>')
    assert 'rel="noopener noreferrer nofollow"' in clean
    assert 'href="https://www.service-public.fr/"' in clean


def test_styles_are_filtered():
    clean = sanitise_html('<p style="color: red; background-image: url(https://t.example/x)">a</p>')
    assert "color:red" in clean.replace(" ", "")
    assert "url(" not in clean


def test_empty_html():
    assert sanitise_html("") == ""
    assert html_to_text("  ") == ""


def test_html_to_text_is_readable():
    html = (
        "<div>Bonjour&nbsp;Madame,</div><p>Ligne 1<br>Ligne 2</p>"
        "<ul><li>un</li><li>deux</li></ul><ol><li>a</li><li>b</li></ol>"
        '<p>Voir <a href="https://www.service-public.fr/particuliers">le site</a> '
        'ou <a href="mailto:accueil@cd99.example">écrire</a>.</p>'
        "<script>var x = 1;</script><style>p {}</style>"
    )
    text = html_to_text(html)
    assert text == (
        "Bonjour Madame,\n\nLigne 1\nLigne 2\n\n- un\n- deux\n\n1. a\n2. b\n\n"
        "Voir le site (https://www.service-public.fr/particuliers) ou écrire (accueil@cd99.example)."
    )


def test_blockquotes_become_quoted_lines():
    text = html_to_text("<p>Merci</p><blockquote>Le 3 mars, X a écrit :<br>ancien</blockquote>")
    assert text == "Merci\n\n> Le 3 mars, X a écrit :\n> ancien"


def test_link_whose_text_is_its_url_is_not_repeated():
    assert html_to_text('<a href="https://a.example/">https://a.example/</a>') == "https://a.example/"
